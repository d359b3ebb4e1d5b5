// The entry of a media worker thread (started through
// util/typescript-worker.ts by MediaThread): the thread plumbing around
// MediaWorkerCore, and this thread's priority. An exception that escapes
// here ends the thread, which the main thread notices, logs and replaces
// (media-worker-pool.ts).
import { parentPort } from "node:worker_threads";
import { setThreadNice } from "../../../util/thread-priority.ts";
import { type Batch, eachMessage, type FromWorker, Outbox, type ToWorker } from "./protocol.ts";
import { MediaWorkerCore } from "./worker-core.ts";

const port = parentPort;
if (!port) throw new Error("media-worker.ts runs as a worker thread only");
const outbox = new Outbox<FromWorker>((msg, transfer) => port.postMessage(msg, transfer));
const core = new MediaWorkerCore((msg, transfer) => {
  outbox.push(msg, transfer);
  // A packet batch is already one per turn: it leaves at once, with what was said before it.
  if (msg.t === "packets") outbox.flush();
});
port.on("message", (batch: ToWorker | Batch<ToWorker>) =>
  eachMessage<ToWorker>(batch, (msg) => {
    // The priority is this thread's own (on Linux), set from the thread itself.
    if (msg.t === "init" && msg.nice !== 0) {
      outbox.push({ t: "priority", result: setThreadNice(msg.nice) });
    }
    core.handle(msg);
  }),
);
