// What every bench gets: the reporter, the run options, the PBX (started
// once and shared by the SIP benches), and a scratch folder.
import type { PbxProcess } from "../lib/pbx-process.ts";
import type { Reporter } from "../lib/report.ts";

export interface BenchContext {
  report: Reporter;
  quick: boolean;
  /** `--peers`: the call and relay benches measure their peers too (Kamailio, rtpengine) and compare. */
  peers: boolean;
  workDir: string;
  /** Started on first use by the benches that need it. */
  pbx: () => Promise<PbxProcess>;
}

/** Extension number ranges, disjoint so that one bench's bindings and calls do not disturb another's. */
export const RANGES = {
  /** Registered by SIPp (register, rss_per_phone). */
  phones: 10000,
  /** Callers and callees of the call-rate bench. */
  callers: 20000,
  callees: 30000,
  /** Callers and callees of the relay bench. */
  relayCallers: 40000,
  relayCallees: 50000,
  /** The SRTP relay figure's plain run and its SRTP run (relay-srtp.ts). */
  srtpPlainCallers: 60000,
  srtpPlainCallees: 70000,
  srtpCallers: 80000,
  srtpCallees: 90000,
} as const;

export function numbers(start: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(start + i));
}
