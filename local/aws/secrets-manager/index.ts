/** Public entry of the Secrets Manager emulator (same exports as emulator.ts). */
export * from "./emulator.ts";
