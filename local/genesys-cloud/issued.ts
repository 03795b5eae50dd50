/**
 * Every secret and access token the emulator knows, so a test can prove that none of them reached a log
 * line, an error message or a metric. The values are deliberately not printable through this API's
 * `toString`/`toJSON`: a test asks "does this text contain any of them?" and gets counts back.
 */
export class IssuedCredentials {
  readonly #secrets = new Set<string>();
  readonly #accessTokens = new Set<string>();

  /** Client secrets: seeded from the state file, created, or regenerated. */
  get secrets(): ReadonlySet<string> {
    return this.#secrets;
  }

  /** Access tokens issued by `POST /oauth/token`. */
  get accessTokens(): ReadonlySet<string> {
    return this.#accessTokens;
  }

  /** Every known secret and access token. */
  all(): string[] {
    return [...this.#secrets, ...this.#accessTokens];
  }

  /**
   * How many distinct known secrets / tokens occur in `text` (e.g. captured logs). The values themselves
   * are never returned, so an assertion failure cannot print them.
   */
  occurrencesIn(text: string): { secrets: number; accessTokens: number } {
    let secrets = 0;
    let accessTokens = 0;
    for (const secret of this.#secrets) if (text.includes(secret)) secrets += 1;
    for (const token of this.#accessTokens) if (text.includes(token)) accessTokens += 1;
    return { secrets, accessTokens };
  }

  /** Keeps the values out of `console.log(emulator.issued)` and JSON dumps. */
  toJSON(): { secrets: number; accessTokens: number } {
    return { secrets: this.#secrets.size, accessTokens: this.#accessTokens.size };
  }

  /** @internal */
  addSecret(secret: string): void {
    this.#secrets.add(secret);
  }

  /** @internal */
  addAccessToken(token: string): void {
    this.#accessTokens.add(token);
  }
}
