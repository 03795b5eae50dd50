/**
 * Bounds of a Genesys Cloud access token's lifetime. An OAuth client's `accessTokenValiditySeconds` is
 * 300–172800 s (5 min to 48 h, default 86400); a client-credentials token never lives longer than the
 * maximum. Kept apart from api.ts/oauth.ts so that code loaded at a cold start can use it without
 * loading the HTTP client.
 */

/** The longest lifetime Genesys gives an access token (48 h). */
export const MAX_ACCESS_TOKEN_VALIDITY_SECONDS = 172_800;
