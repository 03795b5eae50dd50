import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ConfigurationError, ValidationError } from "../../lambda/shared/errors.ts";
import { GENESYS_ENVIRONMENTS, resolveEndpoints } from "../../lambda/shared/genesys/environments.ts";

const VARIABLES = ["GENESYS_EXTRA_ENVIRONMENTS", "GENESYS_ENDPOINT_OVERRIDE"] as const;

describe("resolveEndpoints", () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const name of VARIABLES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
  });
  afterEach(() => {
    for (const name of VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("knows all 18 documented regions", () => {
    assert.equal(GENESYS_ENVIRONMENTS.length, 18);
    for (const domain of ["mypurecloud.com", "mypurecloud.ie", "usw2.pure.cloud", "edee1.eusc-pure.cloud"]) {
      assert.ok(GENESYS_ENVIRONMENTS.includes(domain), domain);
    }
  });

  it("maps a known environment to its login and api hosts", () => {
    assert.deepEqual(resolveEndpoints("mypurecloud.ie"), {
      environment: "mypurecloud.ie",
      loginBaseUrl: "https://login.mypurecloud.ie",
      apiBaseUrl: "https://api.mypurecloud.ie",
    });
  });

  it("rejects an unknown environment, naming the field and the rule", () => {
    for (const environment of [
      "evil.example.com",
      "MYPURECLOUD.IE",
      "api.mypurecloud.ie",
      "",
      "mypurecloud.ie/x",
    ]) {
      assert.throws(
        () => resolveEndpoints(environment),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.field === "environment" &&
          /known Genesys Cloud domain such as mypurecloud\.com.*GENESYS_EXTRA_ENVIRONMENTS/.test(
            error.message,
          ),
        environment,
      );
    }
  });

  it("accepts extras from GENESYS_EXTRA_ENVIRONMENTS or from options", () => {
    assert.throws(() => resolveEndpoints("xyz9.pure.cloud"), ValidationError);
    process.env.GENESYS_EXTRA_ENVIRONMENTS = "abc1.pure.cloud, xyz9.pure.cloud";
    assert.equal(resolveEndpoints("xyz9.pure.cloud").apiBaseUrl, "https://api.xyz9.pure.cloud");
    // Explicit options replace the variable.
    assert.throws(() => resolveEndpoints("xyz9.pure.cloud", { extraEnvironments: [] }), ValidationError);
    assert.equal(
      resolveEndpoints("new1.pure.cloud", { extraEnvironments: ["new1.pure.cloud"] }).loginBaseUrl,
      "https://login.new1.pure.cloud",
    );
  });

  it("rejects a malformed extra as a configuration error", () => {
    process.env.GENESYS_EXTRA_ENVIRONMENTS = "https://evil.example.com";
    assert.throws(
      () => resolveEndpoints("mypurecloud.com"),
      (error: unknown) => error instanceof ConfigurationError && error.key === "GENESYS_EXTRA_ENVIRONMENTS",
    );
  });

  it("points both hosts at the override, still validating the environment", () => {
    process.env.GENESYS_ENDPOINT_OVERRIDE = "http://127.0.0.1:4010/";
    assert.deepEqual(resolveEndpoints("mypurecloud.com"), {
      environment: "mypurecloud.com",
      loginBaseUrl: "http://127.0.0.1:4010",
      apiBaseUrl: "http://127.0.0.1:4010",
    });
    assert.throws(() => resolveEndpoints("evil.example.com"), ValidationError);
    assert.equal(
      resolveEndpoints("mypurecloud.com", { endpointOverride: "https://proxy.internal.example/genesys" })
        .apiBaseUrl,
      "https://proxy.internal.example/genesys",
    );
    assert.equal(
      resolveEndpoints("mypurecloud.com", { endpointOverride: "http://[::1]:9/" }).apiBaseUrl,
      "http://[::1]:9",
    );
  });

  it("refuses an unsafe override", () => {
    const unsafe = [
      "http://10.0.0.5:4010", // plain HTTP off the machine
      "http://localhost.evil.example",
      "ftp://127.0.0.1",
      "not a url",
      "https://user:pass@proxy.example",
      "https://proxy.example/?q=1",
    ];
    for (const endpointOverride of unsafe) {
      assert.throws(
        () => resolveEndpoints("mypurecloud.com", { endpointOverride }),
        (error: unknown) => error instanceof ConfigurationError && error.key === "endpointOverride",
        endpointOverride,
      );
    }
    process.env.GENESYS_ENDPOINT_OVERRIDE = "http://192.168.1.10";
    assert.throws(
      () => resolveEndpoints("mypurecloud.com"),
      (error: unknown) => error instanceof ConfigurationError && error.key === "GENESYS_ENDPOINT_OVERRIDE",
    );
  });
});
