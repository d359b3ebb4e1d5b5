// The speech synthesis thread. espeak-ng (WebAssembly) runs its whole
// command line synchronously for tens to hundreds of milliseconds: on the
// main thread that would freeze SIP retransmissions and RTP pacing, so it
// runs here, together with the resampling to 8 kHz and the level
// normalisation, and hands back ready-to-play telephone audio.
//
// The package exposes only "run main once per instance", so each text gets
// a fresh instance; the 18 MB .wasm is read and compiled once per worker
// and only instantiated per text (about 80 ms instead of 200 ms).
import { readFile } from "node:fs/promises";
import { parentPort } from "node:worker_threads";
import ESpeakNg from "espeak-ng";
import { resample } from "../media/codec/resample.ts";
import { readWav } from "../media/codec/wav.ts";
import { normalise, trimSilence } from "./levels.ts";

export interface SynthRequest {
  seq: number;
  text: string;
  /** espeak-ng arguments selecting voice, speed and pitch. */
  voiceArgs: string[];
  sampleRate: number;
}

export type SynthResponse =
  | { seq: number; ok: true; samples: Int16Array; synthMs: number }
  | { seq: number; ok: false; error: string };

// The WebAssembly global of Node, typed here because the project's lib
// settings (ES2023, no DOM) do not declare it.
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  Instance: new (module: object, imports: object) => object;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// espeak-ng's file system (Emscripten) throws an ErrnoError for every file
// it probes and does not find, dozens per text, and each one captured a
// stack trace (source-mapped, under tsx): most of a prompt's time went
// there. Nothing here reads those stacks; our own errors reach the main
// thread as messages.
Error.stackTraceLimit = 0;

let compiled: Promise<object> | undefined;

function wasmModule(): Promise<object> {
  compiled ??= (async () => {
    const wasmUrl = new URL("./espeak-ng.wasm", import.meta.resolve("espeak-ng"));
    return wasm.compile(await readFile(wasmUrl));
  })();
  return compiled;
}

async function synthesise(req: SynthRequest): Promise<SynthResponse> {
  const started = performance.now();
  const module = await wasmModule();
  const errors: string[] = [];
  const es = await ESpeakNg({
    // "--" ends the options, so a text starting with "-" is spoken, not parsed.
    arguments: [...req.voiceArgs, "-w", "/out.wav", "--", req.text],
    print: () => {},
    printErr: (line) => {
      if (!line.startsWith("program exited")) errors.push(line);
    },
    // Synchronous instantiation (allowed off the browser main thread): a
    // failure throws here and rejects ESpeakNg() instead of leaving it pending.
    instantiateWasm(imports, done) {
      return done(new wasm.Instance(module, imports), module);
    },
  });
  let file: Uint8Array;
  try {
    file = es.FS.readFile("/out.wav");
  } catch {
    return {
      seq: req.seq,
      ok: false,
      error: `espeak-ng wrote no audio: ${errors.join("; ") || "no message"}`,
    };
  }
  const wav = readWav(Buffer.from(file.buffer, file.byteOffset, file.byteLength));
  const telephone = resample(wav.samples, wav.sampleRate, req.sampleRate);
  const samples = normalise(trimSilence(telephone, req.sampleRate));
  return { seq: req.seq, ok: true, samples, synthMs: performance.now() - started };
}

const port = parentPort;
if (port) {
  // One text at a time: espeak-ng is single-threaded anyway, and a queue
  // keeps memory to one 32 MB WebAssembly heap at a time.
  let chain: Promise<void> = Promise.resolve();
  port.on("message", (req: SynthRequest) => {
    chain = chain.then(async () => {
      let res: SynthResponse;
      try {
        res = await synthesise(req);
      } catch (e) {
        res = { seq: req.seq, ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      if (res.ok) port.postMessage(res, [res.samples.buffer as ArrayBuffer]);
      else port.postMessage(res);
    });
  });
}
