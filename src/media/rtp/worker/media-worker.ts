// The entry of a media worker thread (started through
// util/typescript-worker.ts by MediaThread): the thread plumbing around
// MediaWorkerCore, and this thread's priority. An exception that escapes
// here ends the thread, which the main thread notices, logs and replaces
// (media-worker-pool.ts).
import { parentPort } from "node:worker_threads";
import { setThreadNice } from "../../../util/thread-priority.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { MediaWorkerCore } from "./worker-core.ts";

const port = parentPort;
if (!port) throw new Error("media-worker.ts runs as a worker thread only");
const core = new MediaWorkerCore((msg, transfer) => port.postMessage(msg, transfer));
port.on("message", (msg: ToWorker) => {
  // The priority is this thread's own (on Linux), set from the thread itself.
  if (msg.t === "init" && msg.nice !== 0) {
    port.postMessage({ t: "priority", result: setThreadNice(msg.nice) } satisfies FromWorker);
  }
  core.handle(msg);
});
