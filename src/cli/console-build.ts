// `vpbx start` builds the web console when console/dist is missing or older
// than its sources (a `git pull` without `npm ci`, an edit of console/src),
// so that `npm start` always serves the console of the code it runs. The
// build runs in a child process (scripts/build-console.mjs, Vite): the
// server's own process never loads Vite. A failed build is said and the
// server starts anyway: the PBX does not need its console to take calls,
// and / then says how to build it (src/api/console-static.ts).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository (or installed package) root: console/ and scripts/ are in it. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The newest modification time (ms) of the files under `dir`, recursively; 0 when none. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.isFile()) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

export type ConsoleBuildState =
  /** No console sources (an install without them): nothing to build. */
  "no-sources" | "missing" | "stale" | "fresh";

/** Whether console/dist/index.html exists and is newer than every file of console/src (and index.html, vite.config.ts). */
export function consoleBuildState(root = PACKAGE_ROOT): ConsoleBuildState {
  const consoleDir = join(root, "console");
  const src = join(consoleDir, "src");
  if (!existsSync(src)) return "no-sources";
  const built = join(consoleDir, "dist", "index.html");
  if (!existsSync(built)) return "missing";
  const sources = Math.max(
    newest(src),
    ...["index.html", "vite.config.ts"].map((f) => {
      const p = join(consoleDir, f);
      return existsSync(p) ? statSync(p).mtimeMs : 0;
    }),
  );
  return statSync(built).mtimeMs >= sources ? "fresh" : "stale";
}

/** Runs scripts/build-console.mjs under this Node; rejects with its last output lines when it fails. */
export function runConsoleBuild(root = PACKAGE_ROOT): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, "scripts", "build-console.mjs")], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`the console build ended with ${signal ?? `status ${code}`}: ${output.trim()}`));
    });
  });
}

/**
 * Builds the console when it is missing or stale; says in one line what it
 * found and did. Never rejects: a failure is said, and the server starts.
 */
export async function ensureConsoleBuilt(
  say: (line: string) => void,
  opts: { root?: string; build?: (root: string) => Promise<void> } = {},
): Promise<ConsoleBuildState> {
  const root = opts.root ?? PACKAGE_ROOT;
  let state: ConsoleBuildState;
  try {
    state = consoleBuildState(root);
  } catch (err) {
    say(`vpbx: cannot read the web console's files (${(err as Error).message}): it is not rebuilt`);
    return "fresh";
  }
  if (state === "fresh") {
    say("vpbx: web console up to date (console/dist)");
    return state;
  }
  if (state === "no-sources") {
    say("vpbx: no console/src here: the web console is served as installed, if at all");
    return state;
  }
  say(
    `vpbx: building the web console (console/dist ${state === "missing" ? "is missing" : "is older than console/src"})…`,
  );
  const started = Date.now();
  try {
    await (opts.build ?? runConsoleBuild)(root);
    say(`vpbx: web console built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    say(
      `vpbx: building the web console failed, the server starts without it (run npm run build:console to see why): ${(err as Error).message}`,
    );
  }
  return state;
}
