// Turns what an app wants said (prompt ids, phone numbers, quantities,
// times of day, free text, recorded files) into 8 kHz audio for the media
// endpoint.
import { readFile } from "node:fs/promises";
import { resample } from "../../media/codec/resample.ts";
import { readWav } from "../../media/codec/wav.ts";
import type { PlayItem } from "../../media/endpoint/index.ts";
import { type PromptLibrary, type PromptPart, sayDigits, sayNumber, sayTime } from "../../prompts/index.ts";
import type { Language } from "../../store/types.ts";
import type { Speech } from "../apps/call-control.ts";

export interface SpeechRenderer {
  render(items: Speech[], language: Language, tenant: string): Promise<PlayItem[]>;
}

const BEEP: PlayItem = { kind: "tone", freqs: [1000], ms: 250 };

export class PromptSpeech implements SpeechRenderer {
  constructor(private readonly prompts: PromptLibrary) {}

  async render(items: Speech[], language: Language, tenant: string): Promise<PlayItem[]> {
    const out: PlayItem[] = [];
    const parts = async (said: PromptPart[]) => {
      for (const samples of await this.prompts.resolve(said, language, tenant))
        out.push({ kind: "pcm", samples });
    };
    for (const item of items) {
      if (typeof item === "string") {
        out.push({ kind: "pcm", samples: await this.prompts.get(item, language, tenant) });
      } else if ("digits" in item) {
        await parts(sayDigits(item.digits, language));
      } else if ("number" in item) {
        await parts(sayNumber(item.number, language));
      } else if ("time" in item) {
        await parts(sayTime(item.time.hour, item.time.minute, language));
      } else if ("text" in item) {
        out.push({ kind: "pcm", samples: await this.prompts.speak(item.text, language) });
      } else if ("silence" in item) {
        out.push({ kind: "silence", ms: item.silence });
      } else if ("beep" in item) {
        out.push(BEEP);
      } else {
        const wav = readWav(await readFile(item.file));
        const samples = wav.sampleRate === 8000 ? wav.samples : resample(wav.samples, wav.sampleRate, 8000);
        out.push({ kind: "pcm", samples });
      }
    }
    return out;
  }
}
