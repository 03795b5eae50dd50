/**
 * `genesysProfile` in the deployment configuration: it sizes the propagation timeout when that is unset,
 * refuses a profile the code could not run under, and synth warns where the configuration contradicts it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import {
  GENESYS_PROFILE_FORMAT,
  type GenesysProfile,
  serializeGenesysProfile,
} from "../../lambda/shared/genesys/profile.ts";
import { parseRotatorConfig, RotatorConfigError } from "../../lib/config.ts";
import { synthesize } from "./synth.ts";

const minimal = { credentials: [{ name: "default", environment: "mypurecloud.ie" }] };

function profile(overrides: Partial<GenesysProfile> = {}): GenesysProfile {
  return {
    format: GENESYS_PROFILE_FORMAT,
    measuredAt: "2026-12-01T10:00:00.000Z",
    environment: "mypurecloud.ie",
    invalidClientStatus: 400,
    invalidClientBody: { error: "invalid_client", keys: ["error"] },
    propagationDelayMs: { min: 8000, median: 30_000, max: 45_000, samples: [8000, 30_000, 45_000] },
    acceptedStreak: 3,
    tokensSurviveRegeneration: true,
    tokenSurvivalCheckedForMs: 60_000,
    dateModifiedMovesOnRegeneration: true,
    clockSkewMs: -120,
    clientIdsCaseSensitive: true,
    tokenLifetimeSeconds: 86_400,
    tokenRateLimitRetryAfter: null,
    tokenRateLimitSeen: false,
    requests: 120,
    ...overrides,
  };
}

describe("genesysProfile", () => {
  test("sizes an unset propagation timeout (2 × max + 10 s, never below the default), from a file or inline", () => {
    const dir = mkdtempSync(join(tmpdir(), "profile-config-"));
    try {
      const file = join(dir, "genesys-profile.json");
      writeFileSync(file, serializeGenesysProfile(profile()));
      assert.equal(
        parseRotatorConfig({ ...minimal, genesysProfile: file }).rotationFunction.propagationTimeoutSeconds,
        100,
      );
      assert.equal(
        parseRotatorConfig({
          ...minimal,
          genesysProfile: profile({ propagationDelayMs: { min: 1, median: 2, max: 3, samples: [1, 2, 3] } }),
        }).rotationFunction.propagationTimeoutSeconds,
        60,
      );
      // An explicit value wins.
      assert.equal(
        parseRotatorConfig({
          ...minimal,
          genesysProfile: file,
          rotationFunction: { propagationTimeoutSeconds: 30 },
        }).rotationFunction.propagationTimeoutSeconds,
        30,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("refuses an unreadable profile and a wrong-secret status the rotation cannot recognise", () => {
    const issues = (raw: unknown) => {
      try {
        parseRotatorConfig({ ...minimal, genesysProfile: raw });
        return [];
      } catch (error) {
        assert.ok(error instanceof RotatorConfigError);
        return error.issues.map((issue) => `${issue.path}: ${issue.rule}`);
      }
    };
    assert.match(
      issues("/nonexistent/profile.json").join("\n"),
      /genesysProfile: must be a profile file path.*cannot be read/,
    );
    assert.match(
      issues({ ...profile(), extra: 1 }).join("\n"),
      /genesysProfile: .*field "extra" is not a profile field/,
    );
    assert.match(
      issues(profile({ invalidClientStatus: 403 })).join("\n"),
      /genesysProfile: measured invalid_client status 403/,
    );
  });

  test("synth warns when the timeout is below the measured maximum, tokens die under single, or the org differs", () => {
    const synth = synthesize({
      ...minimal,
      credentials: [
        { name: "default", environment: "mypurecloud.ie" },
        { name: "legacy", environment: "mypurecloud.de", strategy: "single", admin: "admin" },
      ],
      adminCredentials: [{ name: "admin", environment: "mypurecloud.de" }],
      rotationFunction: { propagationTimeoutSeconds: 30 },
      genesysProfile: profile({ tokensSurviveRegeneration: false }),
    });
    try {
      const annotations = Annotations.fromStack(synth.stack);
      annotations.hasWarning(
        "*",
        Match.stringLikeRegexp("propagationTimeoutSeconds \\(30 s\\) is below the measured maximum"),
      );
      annotations.hasWarning("*", Match.stringLikeRegexp("single-strategy credential\\(s\\) legacy"));
      annotations.hasWarning(
        "*",
        Match.stringLikeRegexp("measured in mypurecloud.ie, but credential\\(s\\) legacy"),
      );
    } finally {
      synth.cleanup();
    }
  });

  test("no warning when the configuration fits the profile", () => {
    const synth = synthesize({ ...minimal, genesysProfile: profile() });
    try {
      Annotations.fromStack(synth.stack).hasNoWarning(
        "*",
        Match.stringLikeRegexp("genesysProfile|propagation"),
      );
    } finally {
      synth.cleanup();
    }
  });
});
