// The thread that converts one piece of company audio (audio-conversion.ts
// says why it is not the main thread): one job in, one reply out, then the
// main thread terminates it, which hands back all the memory it took.
import { parentPort } from "node:worker_threads";
import { type ConversionJob, type ConversionReply, convertAudio } from "./audio-conversion.ts";
import { AudioRejected } from "./company.ts";

const port = parentPort;
if (port) {
  port.once("message", (job: ConversionJob) => {
    convertAudio(job).then(
      ({ wav, durationMs }) => {
        const reply: ConversionReply = { ok: true, wav, durationMs };
        port.postMessage(reply, [wav.buffer as ArrayBuffer]);
      },
      (err: unknown) => {
        const reply: ConversionReply = {
          ok: false,
          rejected: err instanceof AudioRejected,
          message: err instanceof Error ? err.message : String(err),
        };
        port.postMessage(reply);
      },
    );
  });
}
