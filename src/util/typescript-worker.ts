// Worker threads that run one of our TypeScript modules, compiled or not.
//
// Compiled (dist/server, what `npm start` runs): each worker module is an
// entry point of the bundle under its own name (scripts/build-server.mjs,
// WORKER_ENTRIES), so `./media-worker.ts` beside the calling module is
// `media-worker.js` in the bundle's folder, where the calling code now is.
//
// From the sources (the tests, `node --import tsx src/cli/main.ts`): tsx's
// loader, which a worker does not inherit when it was registered through
// the API, and which `execArgv: ["--import", "tsx"]` does not install in a
// Node 20 worker; so a two-line bootstrap registers it, then imports the
// worker module.
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

/** Whether this module runs compiled (a .js file of the bundle), not through tsx. */
const COMPILED = !import.meta.url.endsWith(".ts");

/** Starts `entry` (a .ts module's URL, relative to the calling module) in a new worker thread. */
export function startTypeScriptWorker(entry: URL): Worker {
  if (COMPILED) {
    const compiled = new URL(`./${basename(entry.pathname, ".ts")}.js`, import.meta.url);
    if (!existsSync(fileURLToPath(compiled))) {
      throw new Error(
        `${fileURLToPath(compiled)} is missing: add the worker module ${basename(entry.pathname)} to WORKER_ENTRIES in scripts/build-server.mjs`,
      );
    }
    return new Worker(compiled);
  }
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}
