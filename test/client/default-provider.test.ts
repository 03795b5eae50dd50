/**
 * The zero-configuration `getToken()`: bound to TOKEN_VENDOR_FUNCTION_NAME, one provider per process,
 * and the AWS SDK's own environment (region, credentials, AWS_ENDPOINT_URL_LAMBDA) for the Lambda client.
 * This file mutates process.env; node:test runs each file in its own process.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { defaultTokenProvider, getToken } from "../../lambda/client/index.ts";
import { ConfigurationError } from "../../lambda/shared/errors.ts";
import { type FakeVendorHarness, startFakeVendorHarness } from "./harness.ts";

describe("getToken() bound to TOKEN_VENDOR_FUNCTION_NAME", () => {
  let harness: FakeVendorHarness;

  before(async () => {
    harness = await startFakeVendorHarness();
    await harness.register("env-vendor");
  });
  after(async () => {
    await harness?.stop();
  });

  it("names the missing variable when it is unset", async () => {
    delete process.env.TOKEN_VENDOR_FUNCTION_NAME;
    await assert.rejects(getToken(), (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.key, "TOKEN_VENDOR_FUNCTION_NAME");
      return true;
    });
  });

  it("invokes the named vendor through the SDK's environment, with one process-wide cache", async () => {
    Object.assign(process.env, {
      TOKEN_VENDOR_FUNCTION_NAME: "env-vendor",
      AWS_ENDPOINT_URL_LAMBDA: harness.emulator.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
    });
    const [first, second] = await Promise.all([getToken(), getToken()]);
    const third = await getToken();
    assert.equal(first.accessToken, second.accessToken);
    assert.equal(third.accessToken, first.accessToken);
    assert.equal(harness.invocations("env-vendor"), 1);
    assert.equal(defaultTokenProvider(), defaultTokenProvider());
  });
});
