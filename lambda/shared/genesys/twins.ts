/**
 * Twin comparison: consistency of the two OAuth clients of an alternating pair (docs/design.md). Consumers
 * see whichever client is current, so the twins must grant exactly the same access (roleDivisions, as a
 * set) and tokens of the same lifetime; otherwise a rotation silently changes what every consumer may do.
 * The rotation refuses a drifted pair (RoleDriftError); the CLI's `seed` aligns the twin it creates or reuses.
 */

/** The fields of an OAuth client that must match between twins. */
export interface TwinClient {
  id: string;
  roleDivisions: readonly { roleId: string; divisionId: string }[];
  accessTokenValiditySeconds?: number | undefined;
}

/**
 * Lists the differences between two clients, worded for an operator, e.g.
 * `roleDivisions only on A: role r1 in division d1`. Empty when they match.
 */
export function twinDifferences(a: TwinClient, b: TwinClient): string[] {
  const key = (rd: { roleId: string; divisionId: string }) =>
    `role ${rd.roleId} in division ${rd.divisionId}`;
  const onA = new Set(a.roleDivisions.map(key));
  const onB = new Set(b.roleDivisions.map(key));
  const onlyOnA = [...onA].filter((entry) => !onB.has(entry)).sort();
  const onlyOnB = [...onB].filter((entry) => !onA.has(entry)).sort();
  const differences: string[] = [];
  if (onlyOnA.length > 0) differences.push(`roleDivisions only on ${a.id}: ${onlyOnA.join(", ")}`);
  if (onlyOnB.length > 0) differences.push(`roleDivisions only on ${b.id}: ${onlyOnB.join(", ")}`);
  if (a.accessTokenValiditySeconds !== b.accessTokenValiditySeconds) {
    differences.push(
      `accessTokenValiditySeconds differs: ${a.id} has ${a.accessTokenValiditySeconds ?? "none"}, ${b.id} has ${b.accessTokenValiditySeconds ?? "none"}`,
    );
  }
  return differences;
}

/** The drift between two clients in one sentence (the rotation's RoleDriftError message), or `undefined` when they match. */
export function describeTwinDrift(a: TwinClient, b: TwinClient): string | undefined {
  const differences = twinDifferences(a, b);
  if (differences.length === 0) return undefined;
  return `role drift between clients ${a.id} and ${b.id}: ${differences.join("; ")}`;
}
