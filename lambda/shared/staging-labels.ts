/**
 * The staging labels of the Secrets Manager rotation protocol. The rotation function, the operator CLI
 * and the Secrets Manager emulator all name versions by them.
 */

/** The version readers get by default: the credential in use. */
export const AWSCURRENT = "AWSCURRENT";
/** The version a rotation is building; promoted to AWSCURRENT by finishSecret. */
export const AWSPENDING = "AWSPENDING";
/** The version AWSCURRENT was moved from (Secrets Manager moves this label itself). */
export const AWSPREVIOUS = "AWSPREVIOUS";
