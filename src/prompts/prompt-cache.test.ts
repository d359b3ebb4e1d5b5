import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeWav } from "../media/codec/wav.ts";
import type { Language } from "../store/types.ts";
import { silentLogger } from "../util/log.ts";
import { UnknownPrompt } from "./catalogue.ts";
import { buildPromptCache } from "./index.ts";
import { activeRms } from "./levels.ts";
import { MAX_SPOKEN_TEXT, PromptLibrary } from "./prompt-cache.ts";
import type { Synth } from "./synthesizer.ts";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vpbx-prompts-"));
  dirs.push(dir);
  return dir;
}

/** A synthesiser that says each text as a tone whose length is the text length; counts calls. */
class FakeSynth implements Synth {
  calls: string[] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }
  release(): void {
    this.open();
  }
  async synthesize(text: string, language: Language): Promise<Int16Array> {
    this.calls.push(`${language}:${text}`);
    await this.gate;
    const out = new Int16Array(text.length * 80);
    for (let i = 0; i < out.length; i++) out[i] = Math.round(5000 * Math.sin(i / 3));
    return out;
  }
  async close(): Promise<void> {}
}

test("a prompt is synthesised once, then served from memory and from the cache file", async () => {
  const dataDir = await tempDir();
  const synth = new FakeSynth();
  const library = new PromptLibrary({ dataDir, log: silentLogger(), synth });
  const first = await library.get("generic.goodbye", "fr");
  assert.equal(first.length, "Au revoir.".length * 80);
  const again = await library.get("generic.goodbye", "fr");
  assert.equal(again, first);
  assert.equal(synth.calls.length, 1);
  assert.equal(library.stats.memoryHits, 1);
  await library.close();

  // A new process finds the file: no synthesis at all.
  const synth2 = new FakeSynth();
  const library2 = new PromptLibrary({ dataDir, log: silentLogger(), synth: synth2 });
  assert.deepEqual(await library2.get("generic.goodbye", "fr"), first);
  assert.equal(synth2.calls.length, 0);
  assert.equal(library2.stats.cacheFileHits, 1);
  // Another language is another text, another file.
  await library2.get("generic.goodbye", "de");
  assert.deepEqual(synth2.calls, ["de:Auf Wiederhören."]);
  assert.equal((await readdir(join(dataDir, "prompts", "fr"))).length, 1);
  await library2.close();
});

test("concurrent requests share one synthesis, also across ids with the same text", async () => {
  const synth = new FakeSynth();
  const library = new PromptLibrary({ dataDir: await tempDir(), log: silentLogger(), synth });
  synth.hold();
  const all = Promise.all([
    library.get("number.7", "fr"),
    library.get("number.7", "fr"),
    library.get("digit.7", "fr"),
    library.get("number.7", "fr", "acme"),
  ]);
  await new Promise((resolve) => setImmediate(resolve));
  synth.release();
  const results = await all;
  assert.deepEqual(synth.calls, ["fr:sept"]);
  for (const r of results) assert.deepEqual(r, results[0]);
  await library.close();
});

test("a tenant override wins over the global one, which wins over synthesis; both are converted", async () => {
  const dataDir = await tempDir();
  const custom = join(dataDir, "prompts-custom");
  // 44.1 kHz stereo 16-bit: a 1 kHz tone on the left, silence on the right.
  const frames = 44100;
  const stereo = Buffer.alloc(44 + frames * 4);
  const mono = writeWav(new Int16Array(0), 44100);
  mono.copy(stereo, 0, 0, 44);
  stereo.writeUInt32LE(36 + frames * 4, 4);
  stereo.writeUInt16LE(2, 22);
  stereo.writeUInt32LE(44100 * 4, 28);
  stereo.writeUInt16LE(4, 32);
  stereo.writeUInt32LE(frames * 4, 40);
  for (let i = 0; i < frames; i++)
    stereo.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 44100)), 44 + i * 4);
  await mkdir(join(custom, "acme", "fr"), { recursive: true });
  await writeFile(join(custom, "acme", "fr", "generic.goodbye.wav"), stereo);
  await mkdir(join(custom, "fr"), { recursive: true });
  await writeFile(join(custom, "fr", "generic.goodbye.wav"), writeWav(new Int16Array(4000).fill(3000), 8000));

  const synth = new FakeSynth();
  const library = new PromptLibrary({ dataDir, log: silentLogger(), synth });
  const acme = await library.get("generic.goodbye", "fr", "acme");
  assert.ok(Math.abs(acme.length - 8000) <= 1, `converted to 8 kHz: ${acme.length} samples`);
  const level = 20 * Math.log10(activeRms(acme) / 32768);
  assert.ok(Math.abs(level - -16) < 1, `normalised to -16 dBFS, got ${level.toFixed(1)}`);
  const other = await library.get("generic.goodbye", "fr", "other");
  assert.equal(other.length, 4000, "another tenant gets the provider's override");
  assert.equal(synth.calls.length, 0);
  // Other prompts of that tenant are synthesised as usual.
  await library.get("generic.thank-you", "fr", "acme");
  assert.deepEqual(synth.calls, ["fr:Merci."]);
  assert.equal(library.stats.overrideHits, 2);
  await library.close();
});

test("a broken override or cache file falls back; unknown ids and unsafe tenants are refused", async () => {
  const dataDir = await tempDir();
  await mkdir(join(dataDir, "prompts-custom", "en"), { recursive: true });
  await writeFile(join(dataDir, "prompts-custom", "en", "generic.goodbye.wav"), "not audio");
  const synth = new FakeSynth();
  const library = new PromptLibrary({ dataDir, log: silentLogger(), synth });
  assert.equal((await library.get("generic.goodbye", "en")).length, "Goodbye.".length * 80);
  await assert.rejects(library.get("no.such.prompt", "en"), UnknownPrompt);
  await assert.rejects(library.get("time.am", "fr"), UnknownPrompt);
  // "../x" is not a folder name: the override lookup is skipped, the prompt still plays.
  assert.ok((await library.get("generic.thank-you", "en", "../etc")).length > 0);

  const cacheDir = join(dataDir, "prompts", "en");
  for (const name of await readdir(cacheDir)) await writeFile(join(cacheDir, name), "garbage");
  const library2 = new PromptLibrary({ dataDir, log: silentLogger(), synth });
  assert.ok((await library2.get("generic.goodbye", "en")).length > 0);
  assert.equal(library2.stats.synthesized, 1);
  await library.close();
  await library2.close();
  await assert.rejects(library.get("generic.goodbye", "en"), /closed/);
});

test("resolve turns parts into audio and pauses into silence", async () => {
  const library = new PromptLibrary({
    dataDir: await tempDir(),
    log: silentLogger(),
    synth: new FakeSynth(),
  });
  const audio = await library.resolve(["digit.0", { silenceMs: 250 }, "digit.7"], "fr");
  assert.equal(audio.length, 3);
  assert.equal(audio[1].length, 2000);
  assert.ok(audio[1].every((s) => s === 0));
  assert.equal(audio[2].length, "sept".length * 80);
  await library.close();
});

test("the memory cache is bounded", async () => {
  const synth = new FakeSynth();
  const library = new PromptLibrary({
    dataDir: await tempDir(),
    log: silentLogger(),
    synth,
    maxCachedSamples: 1000,
  });
  await library.get("digit.1", "en"); // "one": 240 samples
  await library.get("digit.3", "en"); // "three": 400
  await library.get("digit.7", "en"); // "seven": 400 -> evicts "one"
  await library.get("digit.3", "en");
  assert.equal(library.stats.memoryHits, 1);
  await library.get("digit.1", "en");
  assert.equal(library.stats.cacheFileHits, 1, "evicted prompt comes back from the file");
  await library.close();
});

test("buildPromptCache synthesises each distinct text once and is idempotent", async () => {
  const dataDir = await tempDir();
  const synth = new FakeSynth();
  const first = await buildPromptCache({ dataDir, languages: ["it"], log: silentLogger(), synth });
  assert.ok(first.generated > 150, `generated ${first.generated}`);
  assert.equal(synth.calls.length, first.generated);
  assert.equal(new Set(synth.calls).size, synth.calls.length, "a text was synthesised twice");
  assert.ok(first.cached > 0, "digit.N and number.N share their file");
  const second = await buildPromptCache({ dataDir, languages: ["it"], log: silentLogger(), synth });
  assert.equal(second.generated, 0);
  assert.equal(second.cached, first.generated + first.cached);
});

test("tenants without their own recording share one copy of the audio", async () => {
  const synth = new FakeSynth();
  const library = new PromptLibrary({
    dataDir: await tempDir(),
    log: silentLogger(),
    synth,
    maxCachedSamples: 1000,
  });
  const tenants = ["a", "b", "c", "d", "e"];
  const arrays = await Promise.all(tenants.map((t) => library.get("digit.3", "en", t))); // 400 samples each
  for (const a of arrays) assert.equal(a, arrays[0]);
  // Five keys hold one 400-sample array: still within the 1000-sample bound, all in memory.
  for (const t of tenants) await library.get("digit.3", "en", t);
  assert.equal(synth.calls.length, 1);
  assert.equal(library.stats.cacheFileHits, 0);
  assert.equal(library.stats.memoryHits, tenants.length);
  library.invalidate("a");
  assert.equal(await library.get("digit.3", "en", "b"), arrays[0]);
  await library.close();
});

test("free text is synthesised once, cached on disk by its text like the catalogue, and checked", async () => {
  const dataDir = await tempDir();
  const synth = new FakeSynth();
  const library = new PromptLibrary({ dataDir, log: silentLogger(), synth });
  const first = await library.speak("Fermé pour inventaire", "fr");
  assert.equal(first.length, "Fermé pour inventaire".length * 80);
  // Spaces collapsed: the same text, the same audio, from memory.
  assert.equal(await library.speak("  Fermé   pour\ninventaire ", "fr"), first);
  assert.equal(synth.calls.length, 1);
  assert.equal(library.stats.memoryHits, 1);
  // A label that says what a catalogue prompt says shares the prompt's file.
  await library.speak("Au revoir.", "fr");
  await library.get("generic.goodbye", "fr");
  assert.deepEqual(synth.calls, ["fr:Fermé pour inventaire", "fr:Au revoir."]);
  assert.equal((await readdir(join(dataDir, "prompts", "fr"))).length, 2);
  // A tenant's override invalidation leaves free text in memory.
  library.invalidate("acme");
  await library.speak("Fermé pour inventaire", "fr");
  assert.equal(library.stats.memoryHits, 2);
  await assert.rejects(library.speak("", "fr"), RangeError);
  await assert.rejects(library.speak(" \n ", "fr"), RangeError);
  await assert.rejects(library.speak("x".repeat(MAX_SPOKEN_TEXT + 1), "fr"), RangeError);
  await library.close();

  // A new process finds the file: no synthesis.
  const synth2 = new FakeSynth();
  const library2 = new PromptLibrary({ dataDir, log: silentLogger(), synth: synth2 });
  assert.deepEqual(await library2.speak("Fermé pour inventaire", "fr"), first);
  assert.equal(synth2.calls.length, 0);
  assert.equal(library2.stats.cacheFileHits, 1);
  await library2.close();
  await assert.rejects(library2.speak("Fermé", "fr"), /closed/);
});
