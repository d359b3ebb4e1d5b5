// `npm run bench`: the vpbx performance figures, one JSON line each on
// stdout (and in bench/results/latest.jsonl), after a line describing the
// machine. Flags: --only register,register_flood,calls,relay,relay_srtp,playback,prompts (a subset),
// --quick (a few seconds each, a smoke run), --profile (a V8 CPU profile of
// the PBX; its top functions over the measured steps of the calls and relay
// benches, or over the whole run, are printed as a "profile" line), --peers (the
// calls and relay figures of Kamailio and of Kamailio with rtpengine beside
// vpbx's, and a "vpbx/peer" line per comparison; alone it runs those two
// benches only, with --only the benches named).
// Loopback only; every loop is bounded in count and time.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchCalls } from "./benches/calls.ts";
import type { BenchContext } from "./benches/context.ts";
import { benchPlayback } from "./benches/playback.ts";
import { benchPrompts } from "./benches/prompts.ts";
import { benchRegister } from "./benches/register.ts";
import { benchRegisterFlood } from "./benches/register-flood.ts";
import { benchRelay } from "./benches/relay.ts";
import { benchRelaySrtp } from "./benches/relay-srtp.ts";
import { PbxProcess, topFunctions } from "./lib/pbx-process.ts";
import { machineLine, Reporter } from "./lib/report.ts";

const BENCHES: Record<string, (ctx: BenchContext) => Promise<void>> = {
  register: benchRegister,
  register_flood: benchRegisterFlood,
  calls: benchCalls,
  relay: benchRelay,
  // SRTP relay cost per call against plain RTP (issue #13).
  relay_srtp: benchRelaySrtp,
  playback: benchPlayback,
  prompts: benchPrompts,
};
/** The benches that measure a peer beside vpbx with --peers. */
const WITH_PEERS = ["calls", "relay"];
/** The whole run is stopped after this long, whatever is still going (longer with the peers' runs). */
const HARD_LIMIT_MS = 15 * 60_000;
const HARD_LIMIT_PEERS_MS = 25 * 60_000;

function parseArgs(argv: string[]): { only: string[]; quick: boolean; profile: boolean; peers: boolean } {
  let only: string[] | null = null;
  let quick = false;
  let profile = false;
  let peers = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") quick = true;
    else if (a === "--profile") profile = true;
    else if (a === "--peers") peers = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const value = a === "--only" ? argv[++i] : a.slice("--only=".length);
      only = (value ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = only.filter((b) => !(b in BENCHES));
      if (unknown.length)
        throw new Error(`unknown bench ${unknown.join(", ")}; known: ${Object.keys(BENCHES).join(", ")}`);
    } else throw new Error(`unknown option ${a}; use --only a,b --quick --profile --peers`);
  }
  return { only: only ?? (peers ? WITH_PEERS : Object.keys(BENCHES)), quick, profile, peers };
}

async function main(): Promise<number> {
  const { only, quick, profile, peers } = parseArgs(process.argv.slice(2));
  const report = new Reporter();
  report.emit({ ...machineLine(quick), peers });
  const workDir = mkdtempSync(join(tmpdir(), "vpbx-bench-work-"));
  const profileDir = join(workDir, "profile");
  if (profile) mkdirSync(profileDir, { recursive: true });
  let pbx: PbxProcess | null = null;
  let starting: Promise<PbxProcess> | null = null;
  const ctx: BenchContext = {
    report,
    quick,
    peers,
    workDir,
    pbx: () => {
      starting ??= PbxProcess.start(profile ? { cpuProfDir: profileDir } : {}).then(async (p) => {
        pbx = p;
        await p.createTenant();
        return p;
      });
      return starting;
    },
  };
  const hard = setTimeout(
    () => {
      report.note("hard time limit reached, stopping");
      void (pbx as PbxProcess | null)?.stop().finally(() => process.exit(2));
    },
    peers ? HARD_LIMIT_PEERS_MS : HARD_LIMIT_MS,
  );
  hard.unref();
  let failures = 0;
  try {
    for (const name of only) {
      report.note(`running ${name}`);
      try {
        await BENCHES[name](ctx);
        // The PBX's memory after each bench: growth across benches shows what is not given back.
        const p = pbx as PbxProcess | null;
        if (p) report.emit({ bench: "pbx_rss", after: name, rss_mb: Math.round(p.rssBytes() / 2 ** 20) });
      } catch (err) {
        failures++;
        const message = err instanceof Error ? err.message : String(err);
        report.emit({ bench: name, error: message.slice(0, 500), ok: false });
      }
    }
  } finally {
    const p = pbx as PbxProcess | null;
    if (p) {
      const tail = p.output.trim();
      await p.stop();
      if (profile)
        report.emit({
          bench: "profile",
          process: "pbx",
          // The steps the benches measured when they said which (meterCpu), else the whole run.
          span: p.measured.length > 0 ? "measured steps" : "whole run",
          top: topFunctions(profileDir, 15, p.measured),
        });
      if (tail) report.note(`PBX output (tail):\n${tail.slice(-1500)}`);
    }
    report.write(join(import.meta.dirname, "results", "latest.jsonl"));
    rmSync(workDir, { recursive: true, force: true });
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
