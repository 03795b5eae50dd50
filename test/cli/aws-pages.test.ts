import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AwsCallError } from "../../bin/cli/errors.ts";
import { awsPages } from "../../bin/cli/runtime.ts";

const deps = { target: { kind: "aws" as const, region: "eu-west-1" } };
const context = { service: "secretsmanager" as const, operation: "ListSecrets", resource: "(all)" };

/** A list call with three pages that records the NextToken of every request. */
function threePages() {
  const asked: (string | undefined)[] = [];
  const pages: Record<string, { Items: number[]; NextToken?: string }> = {
    first: { Items: [1, 2], NextToken: "b" },
    b: { Items: [3], NextToken: "c" },
    c: { Items: [4] },
  };
  const send = async (nextToken: string | undefined) => {
    asked.push(nextToken);
    const page = pages[nextToken ?? "first"];
    assert.ok(page, `unexpected NextToken ${nextToken}`);
    return page;
  };
  return { asked, send };
}

describe("awsPages", () => {
  it("reads every page, passing each page's NextToken to the next request", async () => {
    const { asked, send } = threePages();
    const items: number[] = [];
    for await (const page of awsPages(deps, send, context)) items.push(...page.Items);
    assert.deepEqual(items, [1, 2, 3, 4]);
    assert.deepEqual(asked, [undefined, "b", "c"]);
  });

  it("reads no further page once the caller leaves the loop", async () => {
    const { asked, send } = threePages();
    for await (const page of awsPages(deps, send, context)) {
      if (page.Items.includes(1)) break;
    }
    assert.deepEqual(asked, [undefined]);
  });

  it("turns a failed page into the CLI's AwsCallError naming the operation", async () => {
    const failing = async () => {
      throw Object.assign(new Error("denied"), { name: "AccessDeniedException" });
    };
    const pages = awsPages(deps, failing, context);
    await assert.rejects(pages.next(), (error: unknown) => {
      assert.ok(error instanceof AwsCallError);
      assert.equal(error.operation, "ListSecrets");
      assert.equal(error.awsErrorName, "AccessDeniedException");
      return true;
    });
  });
});
