/**
 * One `ValidationError` and one `ConfigurationError` class in the consumer library: what `getToken`
 * throws for a bad option or a missing `TOKEN_VENDOR_FUNCTION_NAME`, what the vendor's errors of those
 * names map to, and what the package exports are the same classes, so `instanceof` works for callers.
 * This file mutates process.env; node:test runs each file in its own process.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { InvokeCommandOutput } from "@aws-sdk/client-lambda";
import {
  ConfigurationError,
  ForeignOriginError,
  getToken,
  type LambdaInvoker,
  TOKEN_VENDOR_FUNCTION_NAME_ENV,
  TokenProvider,
  ValidationError,
  VendorError,
} from "../../lambda/client/index.ts";
import * as shared from "../../lambda/shared/errors.ts";

/** A Lambda client whose every Invoke answers with the vendor error `errorType`; counts the calls. */
function failingVendor(errorType: string, errorMessage: string): LambdaInvoker & { calls: number } {
  const invoker = {
    calls: 0,
    async send(): Promise<InvokeCommandOutput> {
      invoker.calls += 1;
      return {
        $metadata: {},
        StatusCode: 200,
        FunctionError: "Unhandled",
        Payload: new TextEncoder().encode(JSON.stringify({ errorType, errorMessage })),
      } as InvokeCommandOutput;
    },
  };
  return invoker as LambdaInvoker & { calls: number };
}

describe("the consumer library's ValidationError and ConfigurationError", () => {
  it("getToken() without TOKEN_VENDOR_FUNCTION_NAME throws the exported ConfigurationError", async () => {
    delete process.env[TOKEN_VENDOR_FUNCTION_NAME_ENV];
    await assert.rejects(getToken(), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError, "instanceof the class the package exports");
      assert.ok(error instanceof shared.ConfigurationError, "still the project's ConfigurationError");
      assert.ok(!(error instanceof VendorError), "not reported by the vendor");
      assert.equal(error.name, "ConfigurationError");
      assert.equal(error.key, TOKEN_VENDOR_FUNCTION_NAME_ENV);
      assert.equal(error.source, "client");
      assert.equal(error.retryable, false);
      return true;
    });
  });

  it("a bad provider property throws the exported ConfigurationError or ValidationError", () => {
    assert.throws(
      () => new TokenProvider({ functionName: " " }),
      (error: unknown) => error instanceof ConfigurationError && error.key === "functionName",
    );
    assert.throws(
      () => new TokenProvider({ functionName: "vendor", maxInvokeAttempts: 0 }),
      (error: unknown) => error instanceof ConfigurationError && error.key === "maxInvokeAttempts",
    );
    assert.throws(
      () => new TokenProvider({ functionName: "vendor", credential: "" }),
      (error: unknown) => error instanceof ValidationError && error.field === "credential",
    );
  });

  it("getToken with a bad option throws the exported ValidationError, naming the field, without invoking", async () => {
    const lambdaClient = failingVendor("Unreachable", "must not be invoked");
    const provider = new TokenProvider({ functionName: "vendor", lambdaClient });
    const bad = [
      [{ minTtlSeconds: -1 }, "minTtlSeconds"],
      [{ minTtlSeconds: 1.5 }, "minTtlSeconds"],
      [{ credential: "" }, "credential"],
      [{ rejectedToken: "" }, "rejectedToken"],
    ] as const;
    for (const [options, field] of bad) {
      await assert.rejects(provider.getToken(options), (error: unknown) => {
        assert.ok(error instanceof ValidationError, `${field}: instanceof the exported class`);
        assert.ok(error instanceof shared.ValidationError);
        assert.equal(error.name, "ValidationError");
        assert.equal(error.field, field);
        assert.equal(error.source, "client");
        assert.equal(error.retryable, false);
        return true;
      });
    }
    assert.equal(lambdaClient.calls, 0, "nothing was sent");
  });

  it("the vendor's ValidationError is the same class, with the field and rule of its message", async () => {
    const lambdaClient = failingVendor(
      "ValidationError",
      'vend request: field "minTtlSeconds" must be a whole number from 0 to 3600',
    );
    const provider = new TokenProvider({ functionName: "vendor", lambdaClient });
    await assert.rejects(provider.getToken(), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.equal(error.source, "vendor");
      assert.equal(error.field, "minTtlSeconds");
      assert.equal(error.rule, "must be a whole number from 0 to 3600");
      assert.match(
        error.message,
        /^token vendor failed with ValidationError: vend request: field "minTtlSeconds"/,
      );
      assert.equal(error.retryable, false);
      return true;
    });
    assert.equal(lambdaClient.calls, 1, "not retried");
  });

  it("the vendor's ConfigurationError is the same class, with the key of its message", async () => {
    const lambdaClient = failingVendor("ConfigurationError", "TOKEN_TABLE_NAME: must be set");
    const provider = new TokenProvider({ functionName: "vendor", lambdaClient });
    await assert.rejects(provider.getToken(), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.source, "vendor");
      assert.equal(error.key, "TOKEN_TABLE_NAME");
      assert.equal(
        error.message,
        "token vendor failed with ConfigurationError: TOKEN_TABLE_NAME: must be set",
      );
      return true;
    });
    const unnamed = failingVendor("ConfigurationError", "something is off");
    await assert.rejects(
      new TokenProvider({ functionName: "vendor", lambdaClient: unnamed }).getToken(),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.key === "(token vendor)" &&
        /something is off/.test(error.message),
    );
  });

  it("ForeignOriginError is a ValidationError of the package", () => {
    const error = new ForeignOriginError("https://example.com", "https://api.mypurecloud.ie");
    assert.ok(error instanceof ValidationError);
    assert.equal(error.source, "client");
  });

  it("no module of the library throws the shared classes of those names", async () => {
    const folder = fileURLToPath(new URL("../../lambda/client/", import.meta.url));
    const offenders: string[] = [];
    for (const file of (await readdir(folder)).filter((name) => name.endsWith(".ts"))) {
      if (file === "errors.ts") continue; // defines the library's classes on top of the shared ones
      const source = await readFile(`${folder}${file}`, "utf8");
      const sharedImport = /import\s*{([^}]*)}\s*from\s*"\.\.\/shared\/errors\.ts"/g;
      for (const match of source.matchAll(sharedImport)) {
        if (/\b(ValidationError|ConfigurationError)\b/.test(match[1] ?? "")) offenders.push(file);
      }
    }
    assert.deepEqual(offenders, [], "import ValidationError/ConfigurationError from ./errors.ts");
  });
});
