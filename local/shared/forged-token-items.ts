/**
 * Forged or corrupted token-table items, written straight into DynamoDB by tests (and usable by a drill
 * fault) to check that the vending function never serves them (docs/vending.md, "Untrusted cache
 * items"). Each kind breaks exactly one rule of lambda/vending/token-vetting.ts; `valid` breaks none.
 * The tokens are random and never issued by Genesys.
 */

import { randomBytes } from "node:crypto";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { hashToken } from "../../lambda/vending/token-cache.ts";

/** What is forged. */
export type ForgeryKind =
  /** A well-formed item any reader should accept. */
  | "valid"
  /** Expires in 2100: consumers would cache it for decades. */
  | "expires-in-2100"
  /** A known Genesys domain other than the secret's. */
  | "other-environment"
  /** A domain that is not Genesys at all. */
  | "unknown-environment"
  /** `tokenHash` of another token: 401 recovery would never match it. */
  | "hash-mismatch"
  /** CR/LF inside the token (header injection into a consumer's request). */
  | "crlf-token"
  /** Issued an hour from now. */
  | "issued-in-future"
  /** A valid token under a lease that ends in 2100 (nobody else could ever mint). */
  | "endless-lease";

/** Every forged kind (all but `valid`). */
export const FORGERY_KINDS: readonly Exclude<ForgeryKind, "valid">[] = [
  "expires-in-2100",
  "other-environment",
  "unknown-environment",
  "hash-mismatch",
  "crlf-token",
  "issued-in-future",
  "endless-lease",
];

/** What a forged item is built from: what the real item of that credential would hold. */
export interface ForgeryBase {
  /** The configured secret ARN of the credential (an item of another secret is ignored anyway). */
  secretArn: string;
  /** The secret's Genesys environment. */
  environment: string;
  /** A known Genesys environment other than `environment`. */
  otherEnvironment: string;
  /** Generation to write (the real item's, so that the vendor's conditional writes still apply). */
  generation: number;
  /** Epoch ms (the vendor's clock). */
  now: number;
}

/** A forged item (without `pk`) and the token it carries (secret-like: never print it). */
export interface ForgedItem {
  item: Record<string, AttributeValue>;
  accessToken: string;
}

const HOUR_MS = 3_600_000;

/** Builds an item of `kind`. */
export function forgedTokenItem(kind: ForgeryKind, base: ForgeryBase): ForgedItem {
  let accessToken = randomBytes(48).toString("base64url");
  let tokenHash = hashToken(accessToken);
  let issuedAt = base.now - 60_000;
  let expiresAt = issuedAt + HOUR_MS;
  let environment = base.environment;
  const extra: Record<string, AttributeValue> = {};
  switch (kind) {
    case "valid":
      break;
    case "expires-in-2100":
      expiresAt = Date.UTC(2100, 0, 1);
      break;
    case "other-environment":
      environment = base.otherEnvironment;
      break;
    case "unknown-environment":
      environment = "tokens.attacker.example";
      break;
    case "hash-mismatch":
      tokenHash = hashToken(`${accessToken}x`);
      break;
    case "crlf-token":
      accessToken = `${accessToken}\r\nX-Injected: 1`;
      tokenHash = hashToken(accessToken);
      break;
    case "issued-in-future":
      issuedAt = base.now + HOUR_MS;
      expiresAt = issuedAt + HOUR_MS;
      break;
    case "endless-lease":
      // The token itself is fine but already past its life; the lease would block every replacement.
      issuedAt = base.now - 2 * HOUR_MS;
      expiresAt = base.now - HOUR_MS;
      extra.leaseOwner = { S: "forged-owner" };
      extra.leaseUntil = { N: String(Date.UTC(2100, 0, 1)) };
      break;
  }
  return {
    accessToken,
    item: {
      accessToken: { S: accessToken },
      tokenHash: { S: tokenHash },
      issuedAt: { N: String(issuedAt) },
      expiresAt: { N: String(expiresAt) },
      clientId: { S: "0b0e0000-0000-4000-8000-00000000f0f0" },
      secretVersionId: { S: "00000000-0000-4000-8000-00000000f0f0" },
      environment: { S: environment },
      secretArn: { S: base.secretArn },
      generation: { N: String(base.generation) },
      ttl: { N: String(Math.ceil(expiresAt / 1000) + 3600) },
      ...extra,
    },
  };
}
