// Worker threads that run one of our TypeScript modules. The project runs
// TypeScript through tsx, whose loader a worker does not inherit when it was
// registered through the API (bin/vpbx.js), and which
// `execArgv: ["--import", "tsx"]` does not install in a Node 20 worker; so a
// two-line bootstrap registers it, then imports the worker module.
import { Worker } from "node:worker_threads";

/** Starts `entry` (a .ts module's URL) in a new worker thread. */
export function startTypeScriptWorker(entry: URL): Worker {
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}
