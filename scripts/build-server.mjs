#!/usr/bin/env node
// Compiles the server (src/, TypeScript) into dist/server with esbuild: what
// `npm start` and the `vpbx` command (bin/vpbx.js) run. Run by `npm ci` (the
// "prepare" script), by `npm run build:server`, by the test runner, and by
// bin/vpbx.js when dist/server is missing or older than src/. The built
// files are never committed.
//
// Why compiled: tsx compiles each module as it is loaded, through a loader
// thread of its own in the process and in every worker thread, and keeps
// each module's source and source map on the heap. Measured at idle after a
// restart: 172 MB resident through tsx, 120 MB compiled, three threads fewer.
// The tests and the developer's `node --import tsx src/cli/main.ts` still
// run the sources as they are.
//
// The bundle: one file per entry point (the CLI, and the module of each kind
// of worker thread, started by src/util/typescript-worker.ts under the same
// name), the code they share in chunks beside them; the dependencies stay in
// node_modules. dist/server is two levels below the package root, as src/x/
// is, so the paths our modules compute from import.meta.url (the package
// root, console/dist) are the same compiled.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The modules a worker thread runs, beside the CLI (a test checks this list against the sources). */
export const WORKER_ENTRIES = [
  "src/media/rtp/worker/media-worker.ts",
  "src/prompts/synth-worker.ts",
  "src/pbx/company/audio-conversion-worker.ts",
];

/** Where the compiled server is, under `root`. */
export function serverDist(root = ROOT) {
  return join(root, "dist", "server");
}

/** The newest modification time (ms) of the files under `dir`, recursively. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.isFile()) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

/**
 * "fresh" when dist/server/main.js is newer than every file under src/ (and
 * package-lock.json: a dependency's update may change what is bundled);
 * "no-sources" for an install that has only the compiled server.
 */
export function serverBuildState(root = ROOT) {
  const main = join(serverDist(root), "main.js");
  if (!existsSync(join(root, "src"))) return existsSync(main) ? "no-sources" : "missing";
  if (!existsSync(main)) return "missing";
  const lock = join(root, "package-lock.json");
  const sources = Math.max(newest(join(root, "src")), existsSync(lock) ? statSync(lock).mtimeMs : 0);
  return statSync(main).mtimeMs >= sources ? "fresh" : "stale";
}

/**
 * Builds into a directory of its own, then puts it in place with renames:
 * a server started from the previous build keeps finding its chunks until
 * the switch, and two builds at once (two `vpbx` commands after a `git
 * pull`) do not write into each other's files.
 */
export async function buildServer(root = ROOT) {
  const { build } = await import("esbuild");
  const dist = serverDist(root);
  const fresh = `${dist}.${process.pid}.new`;
  const old = `${dist}.${process.pid}.old`;
  rmSync(fresh, { recursive: true, force: true });
  const entryPoints = { main: join(root, "src/cli/main.ts") };
  for (const entry of WORKER_ENTRIES) entryPoints[basename(entry, ".ts")] = join(root, entry);
  await build({
    entryPoints,
    outdir: fresh,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // No keepNames: it wraps every closure as it is created (hot paths make
    // thousands a second). Names stay as written, but for a clash between
    // two modules (esbuild then suffixes one: newest2).
    // For an operator who runs with --enable-source-maps to read a stack in src/ terms.
    sourcemap: "linked",
    chunkNames: "chunk-[hash]",
    logLevel: "warning",
  });
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(fresh, dist);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Builds the server in a child process when it is missing or stale (the
 * caller is about to run it, and must not carry esbuild in its own memory).
 * Throws, with esbuild's words, when the build fails.
 */
export function ensureServerBuilt(root = ROOT, say = (line) => process.stderr.write(`${line}\n`)) {
  const state = serverBuildState(root);
  if (state === "fresh" || state === "no-sources") return state;
  say(
    `vpbx: compiling the server (dist/server ${state === "missing" ? "is missing" : "is older than src/"})…`,
  );
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    cwd: root,
    encoding: "utf8",
  });
  if (run.status !== 0) {
    throw new Error(
      `compiling the server failed (run npm run build:server to see why): ${`${run.stdout}${run.stderr}`.trim().slice(-2000) || run.error?.message || `status ${run.status}`}`,
    );
  }
  return state;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  try {
    await buildServer();
    console.log(`vpbx: server compiled into dist/server in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`vpbx: compiling the server failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
