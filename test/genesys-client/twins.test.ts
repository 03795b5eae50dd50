/** Twin comparison (lambda/shared/genesys/twins.ts), used by the rotation and by the CLI's `seed`. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeTwinDrift } from "../../lambda/shared/genesys/twins.ts";

describe("describeTwinDrift", () => {
  const base = {
    roleDivisions: [
      { roleId: "r1", divisionId: "d1" },
      { roleId: "r2", divisionId: "*" },
    ],
    accessTokenValiditySeconds: 3600,
  };

  test("equal sets in any order are consistent", () => {
    assert.equal(
      describeTwinDrift(
        { id: "A", ...base },
        { id: "B", ...base, roleDivisions: [...base.roleDivisions].reverse() },
      ),
      undefined,
    );
  });

  test("names role divisions present on one side only, and a lifetime difference", () => {
    const message = describeTwinDrift(
      { id: "A", ...base },
      {
        id: "B",
        roleDivisions: [
          { roleId: "r2", divisionId: "*" },
          { roleId: "r3", divisionId: "d9" },
        ],
        accessTokenValiditySeconds: 600,
      },
    );
    assert.equal(
      message,
      "role drift between clients A and B: roleDivisions only on A: role r1 in division d1; " +
        "roleDivisions only on B: role r3 in division d9; accessTokenValiditySeconds differs: A has 3600, B has 600",
    );
  });
});
