// Every module our code starts in a worker thread is an entry point of the
// compiled server (scripts/build-server.mjs): a worker added to the sources
// but not to WORKER_ENTRIES works in the tests (tsx) and fails only in
// `npm start`, so this reads the sources for them.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
// @ts-expect-error: a plain JavaScript build script, without types.
import { WORKER_ENTRIES } from "../../scripts/build-server.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

test("each worker module started by startTypeScriptWorker is an entry point of the compiled server", () => {
  const started = new Set<string>();
  for (const file of sources(join(ROOT, "src"))) {
    const text = readFileSync(file, "utf8");
    if (!/startTypeScriptWorker\(/.test(text) || file.endsWith("typescript-worker.ts")) continue;
    for (const m of text.matchAll(/new URL\("(\.\/[^"]+\.ts)", import\.meta\.url\)/g)) {
      started.add(relative(ROOT, join(dirname(file), m[1])));
    }
  }
  assert.ok(started.has("src/media/rtp/worker/media-worker.ts"), [...started].join(", "));
  assert.deepEqual([...started].sort(), [...(WORKER_ENTRIES as string[])].sort());
  for (const entry of WORKER_ENTRIES as string[]) assert.ok(existsSync(join(ROOT, entry)), entry);
});
