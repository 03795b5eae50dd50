/**
 * The staging labels and the steps of the Secrets Manager rotation protocol. The rotation function, the
 * operator CLI and the Secrets Manager emulator all name versions by them.
 */

/** The version readers get by default: the credential in use. */
export const AWSCURRENT = "AWSCURRENT";
/** The version a rotation is building; promoted to AWSCURRENT by finishSecret. */
export const AWSPENDING = "AWSPENDING";
/** The version AWSCURRENT was moved from (Secrets Manager moves this label itself). */
export const AWSPREVIOUS = "AWSPREVIOUS";
/**
 * A label of the rotation function's own (not part of the AWS protocol): createSecret of a single-client
 * secret attaches it to the rotation's version BEFORE regenerating the client and removes it once the new
 * secret is stored. Found on a version without a value, it means a regenerated secret may be unsaved.
 * `genesys-rotator recover` removes it.
 */
export const REGENERATION_MARKER = "GENESYS_REGENERATING";

/**
 * The steps of the rotation protocol, in the order Secrets Manager calls them: the rotation function
 * dispatches on them, the CDK names its step metrics after them, and the Secrets Manager emulator runs them.
 */
export const ROTATION_STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];
