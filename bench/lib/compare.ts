// A figure of vpbx beside the same figure of a peer (issue #11): one JSON
// line per comparison, `"bench":"vpbx/peer"`, with both values, their ratio
// (vpbx over peer) and whether the issue's goal is met; a readable line on
// stderr for the human watching.
import { round } from "./histogram.ts";
import type { BenchLine, Reporter } from "./report.ts";

export interface Comparison {
  /** The figure compared, e.g. "calls_per_s". */
  figure: string;
  /** The peer's name, e.g. "kamailio". */
  peer: string;
  vpbx: number;
  peerValue: number;
  /** The issue's goal in words, or null for a figure shown for information only. */
  goal: string | null;
  /** Whether the goal is met (null when there is no goal, or the run cannot tell). */
  ok: boolean | null;
  /** Anything else worth seeing on the same line (per-step values...). */
  extra?: Record<string, unknown>;
}

export function comparisonLine(c: Comparison): BenchLine {
  return {
    bench: "vpbx/peer",
    figure: c.figure,
    peer: c.peer,
    vpbx: c.vpbx,
    peer_value: c.peerValue,
    ratio: c.peerValue === 0 ? null : round(c.vpbx / c.peerValue, 3),
    goal: c.goal,
    ok: c.ok,
    ...c.extra,
  };
}

export function emitComparison(report: Reporter, c: Comparison): void {
  const line = comparisonLine(c);
  report.emit(line);
  const verdict =
    c.ok === null ? (c.goal === null ? "" : " — no verdict") : c.ok ? " — goal met" : " — goal NOT met";
  report.note(
    `${c.figure} vpbx/${c.peer}: ${c.vpbx}/${c.peerValue}${line.ratio === null ? "" : ` = ${line.ratio}`}${verdict}`,
  );
}
