/**
 * The minimum gap between two rotations of a secret (docs/rotation.md, "Minimum gap between rotations"):
 * the rotation function enforces MIN_ROTATION_GAP_SECONDS, the CDK configuration (lib/config.ts) checks
 * and defaults `rotationFunction.minRotationGapSeconds` with the same bounds.
 */
import { MAX_ACCESS_TOKEN_VALIDITY_SECONDS } from "./genesys/token-lifetime.ts";

/** How long AWS's Secrets Manager caching clients keep a value by default (1 hour): raw readers' cache. */
export const RAW_SECRET_CACHE_TTL_SECONDS = 3_600;
/**
 * Default minimum gap between rotations: a token minted with the previous client just before it was
 * replaced stays valid for up to the longest token lifetime, and a raw reader's cached copy for up to
 * the cache TTL after that.
 */
export const DEFAULT_MIN_ROTATION_GAP_SECONDS =
  MAX_ACCESS_TOKEN_VALIDITY_SECONDS + RAW_SECRET_CACHE_TTL_SECONDS;
/** Upper bound of MIN_ROTATION_GAP_SECONDS (one year). */
export const MAX_MIN_ROTATION_GAP_SECONDS = 31_536_000;
