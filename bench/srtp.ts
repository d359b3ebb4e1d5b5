// `npx tsx bench/srtp.ts [--quick]`: SRTP cost per packet, for each profile
// we implement. A 172-byte G.711 packet (12-byte header, 20 ms of PCMU) is
// protected and then unprotected in place, as a leg would on send and
// receive; the figure is such pairs per second on one core, plus protect
// alone. One JSON line per profile on stdout (the format of bench/run.ts),
// a readable summary on stderr. Pure CPU: no sockets, bounded in time
// (about 12 s, 2 s with --quick).
import { SRTP_PROFILES, type SrtpProfile, SrtpSession } from "../src/media/srtp/index.ts";
import { machineLine, Reporter } from "./lib/report.ts";

const PACKET = 172;

function session(profile: SrtpProfile, seed: number): SrtpSession {
  const saltLength = profile === "AEAD_AES_128_GCM" ? 12 : 14;
  return new SrtpSession({
    profile,
    masterKey: Buffer.alloc(16, seed),
    masterSalt: Buffer.alloc(saltLength, seed + 1),
  });
}

/**
 * Runs `step(i)` for about `ms` milliseconds, i counting on from `counter`
 * (sequence numbers must not repeat between the warm-up and the run: the
 * sender refuses to reuse an index); returns iterations per second.
 */
function rate(ms: number, counter: { n: number }, step: (i: number) => void): number {
  const start = process.hrtime.bigint();
  const limit = BigInt(ms) * 1_000_000n;
  const first = counter.n;
  for (;;) {
    for (let k = 0; k < 1024; k++) step(counter.n++);
    const elapsed = process.hrtime.bigint() - start;
    if (elapsed >= limit) return (counter.n - first) / (Number(elapsed) / 1e9);
  }
}

/** The two measured loops of one profile: protect+unprotect pairs, and protect alone. */
function loops(profile: SrtpProfile) {
  const template = Buffer.alloc(PACKET);
  template[0] = 0x80;
  template.writeUInt32BE(0x5eed5eed, 8);
  for (let i = 12; i < PACKET; i++) template[i] = 0xd5 ^ i;
  const buf = Buffer.alloc(PACKET + 16);
  const state = { failures: 0, pairs: { n: 0 }, protects: { n: 0 } };
  // Pairs: one sender, one receiver, as between two legs.
  const sender = session(profile, 1);
  const receiver = session(profile, 1);
  const pair = (i: number) => {
    template.copy(buf, 0, 0, PACKET);
    buf.writeUInt16BE(i & 0xffff, 2);
    buf.writeUInt32BE((i * 160) >>> 0, 4);
    const n = sender.protectRtp(buf, PACKET);
    if (typeof n === "string" || receiver.unprotectRtp(buf, n) !== PACKET) state.failures++;
  };
  const alone = session(profile, 2);
  const protectOnly = (i: number) => {
    template.copy(buf, 0, 0, PACKET);
    buf.writeUInt16BE(i & 0xffff, 2);
    if (typeof alone.protectRtp(buf, PACKET) === "string") state.failures++;
  };
  return { state, pair, protectOnly };
}

/**
 * Each profile is measured in several rounds, the profiles taking turns,
 * and the best round is kept: on a shared machine the slow rounds measure
 * the neighbours, not the code.
 */
function benchAll(ms: number, rounds: number) {
  const all = SRTP_PROFILES.map((profile) => ({
    profile,
    ...loops(profile),
    pairRates: [] as number[],
    protectRates: [] as number[],
  }));
  for (const p of all) {
    rate(ms / 4, p.state.pairs, p.pair); // warm-up: JIT, and the ROC crosses a wrap or two
    rate(ms / 4, p.state.protects, p.protectOnly);
  }
  for (let r = 0; r < rounds; r++) {
    for (const p of all) {
      p.pairRates.push(rate(ms, p.state.pairs, p.pair));
      p.protectRates.push(rate(ms, p.state.protects, p.protectOnly));
    }
  }
  return all.map((p) => {
    const pairsPerS = Math.max(...p.pairRates);
    const protectPerS = Math.max(...p.protectRates);
    // 1/pair = 1/protect + 1/unprotect.
    const unprotectPerS = 1 / (1 / pairsPerS - 1 / protectPerS);
    return {
      bench: "srtp",
      profile: p.profile,
      packet_bytes: PACKET,
      protect_unprotect_per_s: Math.round(pairsPerS),
      protect_per_s: Math.round(protectPerS),
      unprotect_per_s: Number.isFinite(unprotectPerS) && unprotectPerS > 0 ? Math.round(unprotectPerS) : null,
      us_per_pair: Number((1e6 / pairsPerS).toFixed(2)),
      rounds: p.pairRates.map(Math.round),
      failures: p.state.failures,
      ok: p.state.failures === 0,
    };
  });
}

function main(): number {
  const quick = process.argv.includes("--quick");
  const unknown = process.argv.slice(2).filter((a) => a !== "--quick");
  if (unknown.length) {
    process.stderr.write(`unknown option ${unknown.join(" ")}; use --quick\n`);
    return 2;
  }
  const report = new Reporter();
  report.emit(machineLine(quick));
  let ok = true;
  for (const line of benchAll(quick ? 200 : 1000, quick ? 2 : 5)) {
    report.emit(line);
    ok &&= line.ok;
    report.note(
      `${line.profile.padEnd(24)} ${line.protect_unprotect_per_s.toLocaleString("en")} protect+unprotect/s ` +
        `(${line.us_per_pair} µs a pair; protect alone ${line.protect_per_s.toLocaleString("en")}/s)`,
    );
  }
  return ok ? 0 : 1;
}

process.exitCode = main();
