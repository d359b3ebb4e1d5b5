import assert from "node:assert/strict";
import { getPriority } from "node:os";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { threadNiceValues } from "./thread-priority.ts";

/** Runs setThreadNice(nice) on a new worker thread; its result, its thread id, and its nice value as it ends. */
function onWorker(nice: number): Promise<{ result: unknown; tid: number; after: number }> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const { readFileSync } = require("node:fs");
    // tsx's loader, as util/typescript-worker.ts installs it in a worker.
    import(workerData.tsx).then((t) => { t.register(); return import(workerData.module); }).then((m) => {
      const result = m.setThreadNice(workerData.nice);
      const tid = Number(readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0]);
      parentPort.postMessage({ result, tid, after: require("node:os").getPriority(0) });
    });`;
  const worker = new Worker(code, {
    eval: true,
    workerData: {
      tsx: import.meta.resolve("tsx/esm/api"),
      module: new URL("./thread-priority.ts", import.meta.url).href,
      nice,
    },
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

describe("setThreadNice", { skip: process.platform !== "linux" && "per-thread nice is Linux's" }, () => {
  it("renices the calling thread only, not the process's other threads", async () => {
    const mainBefore = getPriority(0);
    // A higher nice value (lower priority) needs no privilege: this runs as any user.
    const target = Math.min(19, mainBefore + 5);
    const { result, tid, after } = await onWorker(target);
    assert.deepEqual(result, { applied: true, nice: target });
    assert.equal(after, target);
    assert.equal(getPriority(0), mainBefore, "the main thread keeps its priority");
    assert.equal(threadNiceValues().get(process.pid), mainBefore);
    assert.notEqual(tid, process.pid);
  });

  it("says why when the value is refused, and changes nothing", async () => {
    const before = getPriority(0);
    const { result, after } = await onWorker(40);
    assert.equal((result as { applied: boolean }).applied, false);
    assert.match((result as { reason: string }).reason, /ERR_OUT_OF_RANGE|range/);
    assert.equal(after, before);
  });
});
