import assert from "node:assert/strict";
import { test } from "node:test";
import {
  concat,
  correlate,
  detectDtmf,
  dtmfTone,
  frameEnergies,
  silence,
  sine,
  speechFrames,
  speechLike,
} from "./audio.ts";
import { requireTool } from "./tools.ts";
import { decodeWav, encodeWav } from "./wav-fixtures.ts";

test("frame energies: a full-scale-ish sine has RMS amplitude/√2, silence 0", () => {
  const e = frameEnergies(concat(sine(400, 100, 10000), silence(100)));
  assert.equal(e.length, 10);
  assert.ok(Math.abs(e[0] - 10000 / Math.SQRT2) < 60, String(e[0]));
  assert.equal(e[9], 0);
  assert.equal(speechFrames(concat(sine(400, 100, 10000), silence(100))), 5);
});

test("correlate finds a reference inside a longer signal, and rejects a different one", () => {
  const ref = speechLike(1500);
  const received = concat(silence(730), ref, silence(300));
  const c = correlate(received, ref);
  assert.equal(c.lag, 5840);
  assert.ok(c.score > 0.99);
  assert.ok(correlate(concat(silence(500), sine(300, 1500)), ref).score < 0.5);
});

test("detectDtmf reads tone pairs and ignores speech and pure tones", () => {
  const pcm = concat(...[..."0123456789*#ABCD"].flatMap((d) => [dtmfTone(d, 80), silence(60)]));
  assert.equal(detectDtmf(pcm), "0123456789*#ABCD");
  assert.equal(detectDtmf(concat(dtmfTone("5", 60), dtmfTone("5", 60))), "5", "one long tone is one digit");
  assert.equal(detectDtmf(speechLike(2000)), "");
  assert.equal(detectDtmf(sine(697, 500)), "");
});

test("WAV round trip, and sox reads what we write", async (t) => {
  const pcm = sine(440, 200);
  const wav = encodeWav(pcm);
  assert.equal(wav.length, 44 + pcm.length * 2);
  assert.deepEqual(decodeWav(wav).samples, pcm);
  assert.throws(() => decodeWav(Buffer.from("RIFX")), /not a RIFF/);
  const sox = requireTool("sox");
  if (!sox) return t.skip("sox not installed");
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "vpbx-wavtest-"));
  try {
    writeFileSync(join(dir, "a.wav"), wav);
    const info = execFileSync(sox, ["--i", join(dir, "a.wav")]).toString();
    assert.match(info, /Sample Rate\s*:\s*8000/);
    assert.match(info, /Channels\s*:\s*1/);
    assert.match(info, /1600 samples/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("requireTool: a missing tool is undefined locally and an error in CI", () => {
  const saved = process.env.PATH;
  const ci = process.env.CI;
  try {
    process.env.PATH = "/nonexistent";
    process.env.CI = "false";
    assert.equal(requireTool("sox"), undefined);
    process.env.CI = "true";
    assert.throws(() => requireTool("sipp"), /sipp is not installed, but CI must run/);
  } finally {
    process.env.PATH = saved;
    process.env.CI = ci;
  }
});
