/**
 * The progress record of `genesys-rotator emergency`, kept in a Secrets Manager tag on the secret so that
 * a run interrupted at any step is continued by the next one, and `status` can show it. The tag value is
 * short `key=value` pairs separated by spaces (tag values allow letters, digits, spaces and `_ . : / = + - @`)
 * and holds ids and a time only, never a secret (docs/rotation.md, "A secret leaked: emergency").
 */

/** The tag key. */
export const EMERGENCY_TAG = "genesys-rotator:emergency";

/** The longest tag value Secrets Manager accepts. */
const MAX_TAG_VALUE = 256;

/** Phases in the order an emergency passes them; each is recorded once its work is done. */
export const EMERGENCY_PHASES = [
  "started", // the leaked client and its version are recorded; nothing changed yet
  "rotated", // the other twin is AWSCURRENT
  "warmed", // the vendor serves tokens of the new AWSCURRENT client
  "regenerated", // regenerate mode: the leaked client's secret is regenerated (and nowhere stored)
  "replaced", // replace mode: a fresh client is the pair's alternate in a new AWSCURRENT version
  "deleted", // replace mode: the leaked client is deleted
  "done",
] as const;
export type EmergencyPhase = (typeof EMERGENCY_PHASES)[number];

/** How the leaked client's access ends. */
export type EmergencyMode = "regenerate" | "replace-client";

/** What the tag records. */
export interface EmergencyRecord {
  phase: EmergencyPhase;
  mode: EmergencyMode;
  /** The client whose secret leaked (AWSCURRENT's when the emergency started). */
  leaked: string;
  /** The version that held the leaked secret. */
  version: string;
  /** ISO-8601 start time. */
  started: string;
}

/** True when `phase` is `other` or a later one. */
export function reached(phase: EmergencyPhase, other: EmergencyPhase): boolean {
  return EMERGENCY_PHASES.indexOf(phase) >= EMERGENCY_PHASES.indexOf(other);
}

/** The tag value of `record`; undefined when it would not fit in a tag (ids longer than usual). */
export function formatEmergencyTag(record: EmergencyRecord): string | undefined {
  const value = `phase=${record.phase} mode=${record.mode} leaked=${record.leaked} version=${record.version} started=${record.started}`;
  return value.length <= MAX_TAG_VALUE ? value : undefined;
}

const ID = /^[A-Za-z0-9-]{1,128}$/;

/** Parses a tag value; undefined when it is not one this tool wrote. */
export function parseEmergencyTag(value: string | undefined): EmergencyRecord | undefined {
  if (value === undefined) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.trim().split(/\s+/)) {
    const at = part.indexOf("=");
    if (at <= 0) return undefined;
    fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const phase = fields.get("phase");
  const mode = fields.get("mode");
  const leaked = fields.get("leaked") ?? "";
  const version = fields.get("version") ?? "";
  const started = fields.get("started") ?? "";
  if (!(EMERGENCY_PHASES as readonly string[]).includes(phase ?? "")) return undefined;
  if (mode !== "regenerate" && mode !== "replace-client") return undefined;
  if (!ID.test(leaked) || !ID.test(version) || Number.isNaN(Date.parse(started))) return undefined;
  return { phase: phase as EmergencyPhase, mode, leaked, version, started };
}
