// Real espeak-ng synthesis in the worker thread. Each synthesis takes about
// 0.1 s of CPU, so this file synthesises only a handful of texts.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { LANGUAGES } from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import { promptText } from "./catalogue.ts";
import { activeRms } from "./levels.ts";
import { PromptLibrary } from "./prompt-cache.ts";
import { PROMPT_SAMPLE_RATE, Synthesizer } from "./synthesizer.ts";

const synth = new Synthesizer(silentLogger());
const dirs: string[] = [];
after(async () => {
  await synth.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const dbfs = (x: number) => 20 * Math.log10(x / 32768);

/** Share of 20 ms frames louder than -45 dBFS: speech has many, silence none. */
function voicedShare(samples: Int16Array): number {
  let voiced = 0;
  let frames = 0;
  for (let start = 0; start + 160 <= samples.length; start += 160) {
    let sum = 0;
    for (let i = start; i < start + 160; i++) sum += samples[i] * samples[i];
    if (dbfs(Math.sqrt(sum / 160)) > -45) voiced++;
    frames++;
  }
  return frames ? voiced / frames : 0;
}

test("the event loop keeps ticking while a long prompt is synthesised", async (t) => {
  // Real time on purpose: this measures the main thread's responsiveness.
  let last = performance.now();
  let worstGap = 0;
  const interval = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  const samples = await synth.synthesize(promptText("announcement.default.waiting", "fr"), "fr");
  const elapsed = performance.now() - started;
  clearInterval(interval);
  assert.ok(samples.length > PROMPT_SAMPLE_RATE * 3);
  // Worker start, WebAssembly compile and synthesis take several hundred ms;
  // on this thread they would show as one gap that long.
  t.diagnostic(`synthesis ${elapsed.toFixed(0)} ms, worst event-loop gap ${worstGap.toFixed(1)} ms`);
  assert.ok(elapsed > 150, `synthesis took only ${elapsed.toFixed(0)} ms`);
  // Well under the synthesis time (on this thread it would be one gap that long), with room for a loaded machine.
  assert.ok(worstGap < Math.min(150, elapsed / 2), `event loop blocked for ${worstGap.toFixed(0)} ms`);
});

test("synthesis gives 8 kHz speech at the common level in every language", async (t) => {
  for (const language of LANGUAGES) {
    const text = promptText("forwarding.unconditional.enabled", language);
    const started = performance.now();
    const samples = await synth.synthesize(text, language);
    const ms = performance.now() - started;
    const seconds = samples.length / PROMPT_SAMPLE_RATE;
    t.diagnostic(`${language}: ${seconds.toFixed(2)} s of audio in ${ms.toFixed(0)} ms`);
    // About 2.5 s for such a sentence at 150 words per minute.
    assert.ok(seconds > 1.2 && seconds < 6, `${language}: ${seconds} s`);
    assert.ok(
      Math.abs(dbfs(activeRms(samples)) - -16) < 1.5,
      `${language}: ${dbfs(activeRms(samples))} dBFS`,
    );
    assert.ok(voicedShare(samples) > 0.5, `${language}: mostly silence`);
  }
  // One digit is short.
  const seven = await synth.synthesize(promptText("digit.7", "de"), "de");
  assert.ok(seven.length > 0.15 * PROMPT_SAMPLE_RATE && seven.length < 1.2 * PROMPT_SAMPLE_RATE);
  t.diagnostic(
    `worker: ${synth.stats.count} texts, mean ${(synth.stats.totalMs / synth.stats.count).toFixed(0)} ms`,
  );
});

test("through the library: synthesised once, then from the cache, concurrent callers share", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "vpbx-synth-"));
  dirs.push(dataDir);
  const library = new PromptLibrary({ dataDir, log: silentLogger() });
  const [a, b] = await Promise.all([
    library.get("generic.goodbye", "it"),
    library.get("generic.goodbye", "it"),
  ]);
  assert.equal(a, b);
  assert.equal(library.stats.synthesized, 1);
  await library.get("generic.goodbye", "it");
  assert.equal(library.stats.synthesized, 1);
  await library.close();
  const again = new PromptLibrary({ dataDir, log: silentLogger() });
  assert.deepEqual(await again.get("generic.goodbye", "it"), a);
  assert.equal(again.stats.synthesized, 0);
  await again.close();
});

test("the worker (about 110 MB of WebAssembly heap) stops when idle and starts again when needed", async () => {
  const clock = new FakeClock();
  const s = new Synthesizer(silentLogger(), clock, 60_000);
  try {
    await s.synthesize("bonjour", "fr");
    await clock.advance(59_000);
    assert.equal(s.stats.workersStopped, 0, "not before the idle time");
    await s.synthesize("au revoir", "fr");
    await clock.advance(59_000);
    assert.equal(s.stats.workersStopped, 0, "each job starts the idle time again");
    await clock.advance(1_000);
    assert.equal(s.stats.workersStopped, 1);
    const again = await s.synthesize("merci", "fr");
    assert.ok(again.length > 1000, "a new worker does the next job");
  } finally {
    await s.close();
  }
});

test("a synthesizer that is closed refuses work", async () => {
  const s = new Synthesizer(silentLogger());
  await s.close();
  await assert.rejects(s.synthesize("bonjour", "fr"), /closed/);
});

test("PIN is said as a word, not spelt, without changing the catalogue", async () => {
  const { spokenText } = await import("./synthesizer.ts");
  assert.equal(spokenText("Veuillez entrer votre code PIN.", "fr"), "Veuillez entrer votre code pine.");
  assert.equal(spokenText("Ihren PIN-Code", "de"), "Ihren Pin-Code");
  assert.equal(spokenText("The two PINs do not match.", "en"), "The two pins do not match.");
  assert.equal(spokenText("SPINE", "en"), "SPINE");
});
