// The main-thread side of speech synthesis: a queue in front of one worker
// thread (synth-worker.ts). The worker starts on the first request, is
// unreferenced while idle so it never keeps the process alive, and is
// replaced if it dies; requests then in flight fail instead of hanging.
import type { Worker } from "node:worker_threads";
import type { Language } from "../store/types.ts";
import { type Clock, SystemClock, type Timer } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { startTypeScriptWorker } from "../util/typescript-worker.ts";
import type { SynthRequest, SynthResponse } from "./synth-worker.ts";

/** The telephone rate every prompt is produced at. */
export const PROMPT_SAMPLE_RATE = 8000;

/**
 * espeak-ng voice per language. fr-CH is espeak's Swiss French (septante,
 * nonante when digits are read); "en-gb" is British English. A little
 * slower than espeak's default 175 words per minute, and slightly lower in
 * pitch, which survives the 300-3400 Hz telephone band better.
 */
export const VOICES: Readonly<Record<Language, readonly string[]>> = {
  fr: ["-v", "fr-CH", "-s", "150", "-p", "45"],
  de: ["-v", "de", "-s", "150", "-p", "45"],
  it: ["-v", "it", "-s", "150", "-p", "45"],
  en: ["-v", "en-gb", "-s", "150", "-p", "45"],
};

/**
 * Respellings applied only to what espeak-ng hears, so the catalogue stays
 * correctly spelt: espeak spells capitals letter by letter, but "PIN" is
 * said as a word ("pine" in Swiss French, "Pin" in German).
 */
const RESPELLINGS: Readonly<Record<Language, ReadonlyArray<readonly [RegExp, string]>>> = {
  fr: [[/\bPIN\b/g, "pine"]],
  de: [[/\bPIN\b/g, "Pin"]],
  it: [[/\bPIN\b/g, "pin"]],
  en: [[/\bPIN(s?)\b/g, "pin$1"]],
};

/** The text as given to espeak-ng for a language. */
export function spokenText(text: string, language: Language): string {
  let spoken = text;
  for (const [pattern, replacement] of RESPELLINGS[language]) spoken = spoken.replace(pattern, replacement);
  return spoken;
}

/**
 * Changes whenever the audio pipeline (voices, resampler, trimming, levels)
 * changes, so that cached prompts from an older pipeline are regenerated.
 */
export const SYNTH_VERSION = "espeak-ng-1.52/8k/trim40/norm-16";

/** What the prompt library needs from a synthesiser; tests may give their own. */
export interface Synth {
  /** 8 kHz mono 16-bit PCM, trimmed and normalised. */
  synthesize(text: string, language: Language): Promise<Int16Array>;
  close(): Promise<void>;
}

interface Pending {
  resolve(samples: Int16Array): void;
  reject(error: Error): void;
  text: string;
}

/**
 * How long the worker may stay idle before it is stopped. Its WebAssembly
 * heap holds about 110 MB; prompts come from the cache once synthesised, so
 * the worker is needed at start and for new text only, and is started again
 * (a few hundred ms) when it is.
 */
export const SYNTH_IDLE_MS = 60_000;

export class Synthesizer implements Synth {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private idle: Timer | undefined;
  /** Number of texts synthesised and total time the worker spent on them. */
  readonly stats = { count: 0, totalMs: 0, maxMs: 0, workersStopped: 0 };

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock = new SystemClock(),
    private readonly idleMs = SYNTH_IDLE_MS,
  ) {}

  synthesize(text: string, language: Language): Promise<Int16Array> {
    if (this.closed) return Promise.reject(new Error("synthesizer is closed"));
    const worker = this.ensureWorker();
    this.idle?.cancel();
    this.idle = undefined;
    const seq = ++this.seq;
    return new Promise<Int16Array>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, text });
      worker.ref();
      const req: SynthRequest = {
        seq,
        text: spokenText(text, language),
        voiceArgs: [...VOICES[language]],
        sampleRate: PROMPT_SAMPLE_RATE,
      };
      worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.idle?.cancel();
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error("synthesizer closed"));
    if (worker) await worker.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.on("message", (res: SynthResponse) => this.onResponse(res));
    worker.on("error", (err) => {
      this.log.error({ err }, "speech synthesis worker failed");
      this.dropWorker(worker, err);
    });
    worker.on("exit", (code) => {
      if (this.worker === worker)
        this.dropWorker(worker, new Error(`synthesis worker exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private onResponse(res: SynthResponse): void {
    const job = this.pending.get(res.seq);
    if (!job) return;
    this.pending.delete(res.seq);
    if (this.pending.size === 0) {
      this.worker?.unref();
      this.retireWhenIdle();
    }
    if (res.ok) {
      this.stats.count++;
      this.stats.totalMs += res.synthMs;
      this.stats.maxMs = Math.max(this.stats.maxMs, res.synthMs);
      this.log.debug({ ms: Math.round(res.synthMs), text: job.text }, "prompt synthesised");
      job.resolve(res.samples);
    } else {
      job.reject(new Error(`speech synthesis failed for "${job.text}": ${res.error}`));
    }
  }

  /** Stops the worker once nothing was asked of it for idleMs. */
  private retireWhenIdle(): void {
    this.idle?.cancel();
    this.idle = this.clock.setTimer(this.idleMs, () => {
      this.idle = undefined;
      const worker = this.worker;
      if (!worker || this.pending.size > 0) return;
      this.worker = undefined;
      this.stats.workersStopped++;
      this.log.debug("speech synthesis worker stopped while idle");
      void worker.terminate();
    });
    // Housekeeping: a process with nothing else to do may end before it fires.
    this.idle.unref?.();
  }

  private dropWorker(worker: Worker, err: Error): void {
    if (this.worker === worker) this.worker = undefined;
    this.failAll(err);
    void worker.terminate();
  }

  private failAll(err: Error): void {
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const job of jobs) job.reject(err);
  }
}

/** The worker module, started through tsx (util/typescript-worker.ts). */
function startWorker(): Worker {
  return startTypeScriptWorker(new URL("./synth-worker.ts", import.meta.url));
}
