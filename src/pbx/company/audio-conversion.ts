// Company audio to the file the phones hear: decode (WAV or MP3), resample
// to 8 kHz, trim a phone recording's silent edges, bring the level to the
// prompts' (so an owner's announcement is neither louder nor quieter than
// the PBX's own voice), write an 8 kHz mono 16-bit WAV.
//
// A 15-minute 44.1 kHz MP3 takes seconds of CPU (about 2.5 s to decode,
// 4 s to resample): on the main thread that would stall RTP pacing and SIP
// retransmissions of every call, so each conversion runs in a worker thread
// of its own (audio-conversion-worker.ts), one at a time.
import type { Worker } from "node:worker_threads";
import {
  AudioTooLong,
  decodeAudio,
  TELEPHONE_SAMPLE_RATE,
  UnsupportedAudio,
} from "../../media/codec/audio-decode.ts";
import { writeWav } from "../../media/codec/wav.ts";
import { activeRms, normalise, trimSilence } from "../../prompts/levels.ts";
import { startTypeScriptWorker } from "../../util/typescript-worker.ts";
import { AudioRejected } from "./company.ts";

export interface ConversionJob {
  /** A file (upload or phone recording), or 8 kHz PCM (speech synthesis). */
  audio: { bytes: Uint8Array; contentType?: string } | { samples: Int16Array };
  /** Names the audio in messages: "the welcome announcement", "the music". */
  label: string;
  /** Longer audio is rejected. */
  maxSeconds: number;
  /** Cut silent edges (phone recordings: the pause before speaking, the reach for the # key). */
  trim: boolean;
  /** Shorter audio (after trimming) is rejected as too short. */
  minSeconds: number;
}

export interface Converted {
  /** 8 kHz mono 16-bit WAV file. */
  wav: Uint8Array;
  durationMs: number;
}

/** "5 minutes", "90 seconds": a limit as a person reads it. */
export function describeSeconds(seconds: number): string {
  if (seconds >= 60 && seconds % 60 === 0) return seconds === 60 ? "1 minute" : `${seconds / 60} minutes`;
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

/** The conversion itself, on the calling thread. Throws AudioRejected on audio that cannot be kept. */
export async function convertAudio(job: ConversionJob): Promise<Converted> {
  let samples: Int16Array;
  if ("samples" in job.audio) {
    samples = job.audio.samples;
  } else {
    const bytes = job.audio.bytes;
    try {
      ({ samples } = await decodeAudio(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        job.audio.contentType,
        { maxSeconds: job.maxSeconds },
      ));
    } catch (err) {
      if (err instanceof AudioTooLong) throw tooLong(job);
      if (err instanceof UnsupportedAudio) throw new AudioRejected(err.message);
      throw err;
    }
  }
  if (samples.length > job.maxSeconds * TELEPHONE_SAMPLE_RATE) throw tooLong(job);
  // Nothing above -60 dBFS: silence, which no gain would make audible.
  if (activeRms(samples) === 0) throw new AudioRejected(`${job.label} holds no sound (only silence)`);
  if (job.trim) samples = trimSilence(samples, TELEPHONE_SAMPLE_RATE);
  const seconds = samples.length / TELEPHONE_SAMPLE_RATE;
  if (seconds < job.minSeconds) {
    throw new AudioRejected(
      `${job.label} is too short (${seconds.toFixed(1)} s of sound): it must last at least ${job.minSeconds} s`,
    );
  }
  const wav = writeWav(normalise(samples), TELEPHONE_SAMPLE_RATE);
  return { wav, durationMs: Math.round((samples.length * 1000) / TELEPHONE_SAMPLE_RATE) };
}

function tooLong(job: ConversionJob): AudioRejected {
  const limit = describeSeconds(job.maxSeconds);
  return new AudioRejected(`${job.label} is longer than ${limit}: shorten it to at most ${limit}`);
}

/** What the worker posts back. */
export type ConversionReply =
  | { ok: true; wav: Uint8Array; durationMs: number }
  | { ok: false; rejected: boolean; message: string };

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs convertAudio in a worker thread of its own, after the conversions
 * already waiting (one at a time: each may hold a few hundred MB while a
 * long file is decoded). AudioRejected crosses the thread as itself; any
 * other failure becomes an Error with the worker's message.
 */
export function convertAudioInWorker(job: ConversionJob): Promise<Converted> {
  const run = queue.then(() => runWorker(job));
  // The next conversion waits for this one to end, however it ends.
  queue = run.catch(() => undefined);
  return run;
}

function runWorker(job: ConversionJob): Promise<Converted> {
  return new Promise<Converted>((resolve, reject) => {
    const worker = startWorker();
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
      void worker.terminate();
    };
    worker.on("message", (reply: ConversionReply) =>
      finish(() => {
        if (reply.ok) resolve({ wav: reply.wav, durationMs: reply.durationMs });
        else reject(reply.rejected ? new AudioRejected(reply.message) : new Error(reply.message));
      }),
    );
    worker.on("error", (err) => finish(() => reject(err)));
    worker.on("exit", (code) =>
      finish(() => reject(new Error(`audio conversion worker exited with code ${code} before answering`))),
    );
    worker.postMessage(job);
  });
}

/** The worker module, started through tsx (util/typescript-worker.ts). */
function startWorker(): Worker {
  return startTypeScriptWorker(new URL("./audio-conversion-worker.ts", import.meta.url));
}
