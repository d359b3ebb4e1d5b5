import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeWav } from "../../media/codec/wav.ts";
import type { PlayItem } from "../../media/endpoint/index.ts";
import { PromptLibrary, promptText, type Synth, sayTime } from "../../prompts/index.ts";
import type { Language } from "../../store/types.ts";
import { silentLogger } from "../../util/log.ts";
import { PromptSpeech } from "./speech.ts";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Says each text as that many samples (one per character), so a test can tell what was said. */
class LengthSynth implements Synth {
  readonly calls: string[] = [];
  async synthesize(text: string, language: Language): Promise<Int16Array> {
    this.calls.push(`${language}:${text}`);
    return new Int16Array(text.length).fill(1000);
  }
  async close(): Promise<void> {}
}

async function renderer(): Promise<{ speech: PromptSpeech; synth: LengthSynth; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "vpbx-speech-"));
  dirs.push(dir);
  const synth = new LengthSynth();
  const library = new PromptLibrary({ dataDir: dir, log: silentLogger(), synth });
  return { speech: new PromptSpeech(library), synth, dir };
}

const lengths = (items: PlayItem[]) => items.map((i) => (i.kind === "pcm" ? i.samples.length : i.kind));

test("a time of day is said as the language says it, fragment by fragment", async () => {
  const { speech, synth } = await renderer();
  const rendered = await speech.render([{ time: { hour: 13, minute: 30 } }], "fr", "acme");
  const expected = sayTime(13, 30, "fr").map((id) => promptText(id as string, "fr").length);
  assert.deepEqual(lengths(rendered), expected);
  // Each fragment synthesised once; the library may look them up in parallel, so in any order
  // (the rendered lengths above say the order they are said in).
  assert.deepEqual([...synth.calls].sort(), ["fr:heures", "fr:treize", "fr:trente"]);
  const en = await speech.render([{ time: { hour: 13, minute: 30 } }], "en", "acme");
  assert.equal(en.length, sayTime(13, 30, "en").length);
  await assert.rejects(speech.render([{ time: { hour: 25, minute: 0 } }], "fr", "acme"), RangeError);
});

test("free text is synthesised in the caller's language, once", async () => {
  const { speech, synth } = await renderer();
  const first = await speech.render(["schedule.switched", { text: "Inventaire" }], "fr", "acme");
  assert.deepEqual(lengths(first), ["Le mode".length, "Inventaire".length]);
  await speech.render([{ text: "Inventaire" }], "fr", "other");
  assert.deepEqual(synth.calls, ["fr:Le mode", "fr:Inventaire"]);
  await assert.rejects(speech.render([{ text: "" }], "fr", "acme"), RangeError);
});

test("the older items still render: digits, numbers, silence, beep, files", async () => {
  const { speech, dir } = await renderer();
  const file = join(dir, "take.wav");
  await writeFile(file, writeWav(new Int16Array(16000), 16000));
  const rendered = await speech.render(
    [{ digits: "12" }, { number: 2 }, { silence: 300 }, { beep: true }, { file }],
    "de",
    "acme",
  );
  assert.deepEqual(lengths(rendered), ["eins".length, "zwei".length, "zwei".length, "silence", "tone", 8000]);
});
