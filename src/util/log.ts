// Structured logs (pino). Every room takes a Logger; a call's logger is a
// child carrying its Call-ID so that every line of a call can be found.
import { pino } from "pino";

export type Logger = pino.Logger;

export function createLogger(level = process.env.VPBX_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { name: "vpbx" } });
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** A logger whose lines a test reads back, parsed. */
export function capturingLogger(level = "debug"): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}
