/**
 * The logger that drops everything: the default of the consumer library (which must not write to a
 * caller's output unless asked) and of tools that measure rather than report. Its own module, apart from
 * log.ts, so that the consumer library does not load the Powertools Logger.
 */
import type { Log } from "./log.ts";

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
