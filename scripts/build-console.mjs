#!/usr/bin/env node
// Builds the web console (console/ → console/dist) with Vite's JavaScript
// API: run by `npm ci` (the "prepare" script), by `npm run build:console`,
// and by `vpbx start` when console/dist is missing or older than its
// sources (src/cli/console-build.ts). The built files are never committed.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repository = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CONSOLE_ROOT = join(repository, "console");

/** Builds the console of `root` into `root`/dist; rejects when Vite fails. */
export async function buildConsole({ root = CONSOLE_ROOT, logLevel = "warn" } = {}) {
  // Loaded here, not at the top: importing this file to read CONSOLE_ROOT costs nothing.
  const { build } = await import("vite");
  await build({ root, configFile: join(root, "vite.config.ts"), logLevel, mode: "production" });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  try {
    await buildConsole();
    console.log(
      `vpbx: web console built into console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (err) {
    console.error(`vpbx: building the web console failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  }
}
