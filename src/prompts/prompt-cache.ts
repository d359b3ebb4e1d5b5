// Where the audio of a prompt comes from, in order:
//   1. the tenant's own recording   <overrides>/<tenant>/<lang>/<id>.wav
//   2. the provider's recording     <overrides>/<lang>/<id>.wav
//   3. the synthesis cache          <dataDir>/prompts/<lang>/<hash>.wav
//   4. espeak-ng, in the worker, then written to the cache (tmp + rename).
// <overrides> is `overridesDir`, by default <dataDir>/prompts-custom.
// The cache file is named by a hash of the spoken text and the voice settings, so
// editing a sentence in the catalogue or tuning a voice regenerates exactly
// the prompts affected and never plays stale audio.
//
// Decoded PCM stays in a bounded in-memory LRU; requests for a prompt that
// is being loaded or synthesised share that one load.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { resample } from "../media/codec/resample.ts";
import { readWav, writeWav } from "../media/codec/wav.ts";
import type { Language } from "../store/types.ts";
import type { Logger } from "../util/log.ts";
import { promptText } from "./catalogue.ts";
import { normalise } from "./levels.ts";
import type { PromptPart } from "./say.ts";
import {
  PROMPT_SAMPLE_RATE,
  SYNTH_VERSION,
  type Synth,
  Synthesizer,
  spokenText,
  VOICES,
} from "./synthesizer.ts";

export interface PromptLibraryOptions {
  dataDir: string;
  overridesDir?: string;
  log: Logger;
  /** Defaults to the espeak-ng worker. */
  synth?: Synth;
  /** Bound of the in-memory cache, in samples (default 10 minutes of 8 kHz audio, about 9.6 MB). */
  maxCachedSamples?: number;
}

export interface PromptLibraryStats {
  memoryHits: number;
  overrideHits: number;
  cacheFileHits: number;
  synthesized: number;
}

/** The longest free text that `speak` takes, in characters (code points, spaces collapsed). */
export const MAX_SPOKEN_TEXT = 1000;

// Ids and tenant slugs become path components: only plain names pass.
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export class PromptLibrary {
  readonly stats: PromptLibraryStats = { memoryHits: 0, overrideHits: 0, cacheFileHits: 0, synthesized: 0 };
  private readonly dataDir: string;
  private readonly overridesDir: string;
  private readonly log: Logger;
  private readonly synth: Synth;
  private readonly maxSamples: number;
  private readonly lru = new Map<string, Int16Array>();
  private lruSamples = 0;
  /** How many LRU keys hold each array: tenants without an override share the global one. */
  private readonly holders = new Map<Int16Array, number>();
  private readonly loading = new Map<string, Promise<Int16Array>>();
  private readonly synthesizing = new Map<string, Promise<Int16Array>>();
  private closed = false;

  constructor(opts: PromptLibraryOptions) {
    this.dataDir = opts.dataDir;
    this.overridesDir = opts.overridesDir ?? join(opts.dataDir, "prompts-custom");
    this.log = opts.log;
    this.synth = opts.synth ?? new Synthesizer(opts.log);
    this.maxSamples = opts.maxCachedSamples ?? PROMPT_SAMPLE_RATE * 600;
  }

  /**
   * 8 kHz mono PCM of one prompt id (catalogue sentence or fragment).
   * Rejects with UnknownPrompt on an unknown id. The array is shared with
   * other callers: read it, never write to it.
   */
  get(id: string, language: Language, tenant?: string): Promise<Int16Array> {
    return this.cached(`${tenant ?? ""}\n${language}\n${id}`, () => this.load(id, language, tenant));
  }

  /**
   * 8 kHz mono PCM of free text (a schedule mode's own label, an
   * announcement typed in the console), synthesised once and cached on
   * disk beside the catalogue prompts, by the same hash of text and voice:
   * a label that says what a catalogue prompt says shares its file. Spaces
   * are collapsed first. Rejects with RangeError on empty text or text
   * longer than MAX_SPOKEN_TEXT characters. The array is shared: read it only.
   */
  speak(text: string, language: Language): Promise<Int16Array> {
    const clean = typeof text === "string" ? text.replace(/\s+/g, " ").trim() : "";
    if (clean === "") return Promise.reject(new RangeError("no text to speak"));
    if ([...clean].length > MAX_SPOKEN_TEXT)
      return Promise.reject(new RangeError(`text to speak is longer than ${MAX_SPOKEN_TEXT} characters`));
    // "\0" starts no tenant's key, so invalidate(tenant) leaves free text alone.
    return this.cached(`\0text\n${language}\n${clean}`, () => this.loadCacheOrSynthesize(clean, language));
  }

  /** The in-memory LRU in front of `load`; concurrent requests for one key share one load. */
  private cached(key: string, load: () => Promise<Int16Array>): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new Error("prompt library is closed"));
    const hit = this.lru.get(key);
    if (hit) {
      this.stats.memoryHits++;
      this.lru.delete(key);
      this.lru.set(key, hit);
      return Promise.resolve(hit);
    }
    let loading = this.loading.get(key);
    if (!loading) {
      loading = load().then(
        (samples) => {
          this.loading.delete(key);
          this.remember(key, samples);
          return samples;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, loading);
    }
    return loading;
  }

  /** The audio of each part, in order; a pause becomes that much silence. */
  resolve(parts: readonly PromptPart[], language: Language, tenant?: string): Promise<Int16Array[]> {
    return Promise.all(
      parts.map((part) =>
        typeof part === "string"
          ? this.get(part, language, tenant)
          : Promise.resolve(
              new Int16Array(Math.max(0, Math.round((part.silenceMs * PROMPT_SAMPLE_RATE) / 1000))),
            ),
      ),
    );
  }

  /** Loads (synthesising if needed) every id in every language; failures are logged, not thrown. */
  async prefetch(ids: Iterable<string>, languages: Iterable<Language>): Promise<void> {
    for (const language of languages) {
      for (const id of ids) {
        if (this.closed) return;
        try {
          await this.get(id, language);
        } catch (err) {
          this.log.warn({ err, id, language }, "prompt prefetch failed");
        }
      }
    }
  }

  /**
   * Makes sure the synthesis cache file of a prompt exists, without keeping
   * its audio in memory (for `vpbx prompts build`).
   */
  async ensureCached(id: string, language: Language): Promise<"cached" | "generated"> {
    const text = promptText(id, language);
    const path = this.cachePath(text, language);
    if (await exists(path)) return "cached";
    const joined = this.synthesizing.has(path);
    await this.synthesizeOnce(text, language, path);
    return joined ? "cached" : "generated";
  }

  /** Forgets decoded audio, e.g. after an override file was added or replaced. */
  invalidate(tenant?: string): void {
    for (const key of [...this.lru.keys()]) {
      if (tenant === undefined || key.startsWith(`${tenant}\n`)) this.forget(key);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lru.clear();
    this.holders.clear();
    this.lruSamples = 0;
    await this.synth.close();
  }

  private async load(id: string, language: Language, tenant: string | undefined): Promise<Int16Array> {
    // The text is looked up first so that an unknown id fails the same way
    // whether or not someone left a file with that name.
    const text = promptText(id, language);
    if (SAFE_NAME.test(id)) {
      // "" is no company (the prompts warmed at start): the provider's audio.
      if (tenant !== undefined && tenant !== "") {
        if (SAFE_NAME.test(tenant)) {
          const own = await this.readOverride(join(this.overridesDir, tenant, language, `${id}.wav`));
          if (own) {
            this.stats.overrideHits++;
            return own;
          }
        } else this.log.warn({ tenant }, "tenant name unusable as a folder; prompt overrides ignored");
        // No recording of the tenant's own: the provider's audio, one copy in memory for all tenants.
        return this.get(id, language);
      }
      const global = await this.readOverride(join(this.overridesDir, language, `${id}.wav`));
      if (global) {
        this.stats.overrideHits++;
        return global;
      }
    }
    return this.loadCacheOrSynthesize(text, language);
  }

  /** The synthesis cache file of a text, else espeak-ng (then the file is written). */
  private async loadCacheOrSynthesize(text: string, language: Language): Promise<Int16Array> {
    const path = this.cachePath(text, language);
    const cached = await this.readCacheFile(path);
    if (cached) {
      this.stats.cacheFileHits++;
      return cached;
    }
    return this.synthesizeOnce(text, language, path);
  }

  /** An override in any readable WAV format, converted to 8 kHz and the common level. */
  private async readOverride(path: string): Promise<Int16Array | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT")
        this.log.warn({ err, path }, "prompt override unreadable");
      return undefined;
    }
    try {
      const wav = readWav(buf);
      return normalise(resample(wav.samples, wav.sampleRate, PROMPT_SAMPLE_RATE));
    } catch (err) {
      this.log.warn({ err, path }, "prompt override is not a usable WAV file; using the standard prompt");
      return undefined;
    }
  }

  private async readCacheFile(path: string): Promise<Int16Array | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch {
      return undefined;
    }
    try {
      const wav = readWav(buf);
      if (wav.sampleRate === PROMPT_SAMPLE_RATE && wav.samples.length > 0) return wav.samples;
    } catch {
      // fall through: a damaged cache file is simply regenerated
    }
    this.log.warn({ path }, "damaged prompt cache file; synthesising again");
    return undefined;
  }

  /** Different ids with the same text (digit.7 and number.7) share one synthesis and one file. */
  private synthesizeOnce(text: string, language: Language, path: string): Promise<Int16Array> {
    let job = this.synthesizing.get(path);
    if (!job) {
      job = this.synthesizeAndStore(text, language, path).finally(() => this.synthesizing.delete(path));
      this.synthesizing.set(path, job);
    }
    return job;
  }

  private async synthesizeAndStore(text: string, language: Language, path: string): Promise<Int16Array> {
    const samples = await this.synth.synthesize(text, language);
    this.stats.synthesized++;
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await mkdir(join(this.dataDir, "prompts", language), { recursive: true });
      await writeFile(tmp, writeWav(samples, PROMPT_SAMPLE_RATE));
      await rename(tmp, path);
    } catch (err) {
      // Playing the prompt matters more than caching it.
      this.log.warn({ err, path }, "could not write the prompt cache");
      await unlink(tmp).catch(() => {});
    }
    return samples;
  }

  private cachePath(text: string, language: Language): string {
    const hash = createHash("sha256")
      .update(`${SYNTH_VERSION}\n${VOICES[language].join(" ")}\n${spokenText(text, language)}`)
      .digest("hex")
      .slice(0, 32);
    return join(this.dataDir, "prompts", language, `${hash}.wav`);
  }

  private remember(key: string, samples: Int16Array): void {
    if (samples.length > this.maxSamples || this.lru.has(key)) return;
    this.lru.set(key, samples);
    const holders = this.holders.get(samples) ?? 0;
    this.holders.set(samples, holders + 1);
    if (holders === 0) this.lruSamples += samples.length;
    while (this.lruSamples > this.maxSamples) this.forget(this.lru.keys().next().value as string);
  }

  private forget(key: string): void {
    const samples = this.lru.get(key);
    if (!samples) return;
    this.lru.delete(key);
    const holders = (this.holders.get(samples) ?? 1) - 1;
    if (holders > 0) this.holders.set(samples, holders);
    else {
      this.holders.delete(samples);
      this.lruSamples -= samples.length;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
