import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { consoleBuildState, ensureConsoleBuilt } from "./console-build.ts";

describe("the console's build at start", () => {
  let root: string;
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "vpbx-console-build-"));
    mkdirSync(join(root, "console", "src", "pages"), { recursive: true });
    writeFileSync(join(root, "console", "src", "main.tsx"), "x");
    writeFileSync(join(root, "console", "src", "pages", "a.tsx"), "x");
    writeFileSync(join(root, "console", "index.html"), "x");
    for (const f of ["main.tsx", "pages/a.tsx"]) at(join(root, "console", "src", f), 1000);
    at(join(root, "console", "index.html"), 1000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const built = (seconds: number) => {
    mkdirSync(join(root, "console", "dist"), { recursive: true });
    writeFileSync(join(root, "console", "dist", "index.html"), "built");
    at(join(root, "console", "dist", "index.html"), seconds);
  };

  test("missing, stale, fresh", () => {
    assert.equal(consoleBuildState(root), "missing");
    built(2000);
    assert.equal(consoleBuildState(root), "fresh");
    at(join(root, "console", "src", "pages", "a.tsx"), 3000);
    assert.equal(consoleBuildState(root), "stale");
  });

  test("no sources: nothing to build", () => {
    rmSync(join(root, "console", "src"), { recursive: true });
    assert.equal(consoleBuildState(root), "no-sources");
  });

  test("builds when missing, says so, and not when fresh", async () => {
    const lines: string[] = [];
    let builds = 0;
    const build = async () => {
      builds++;
      built(5000);
    };
    assert.equal(await ensureConsoleBuilt((l) => lines.push(l), { root, build }), "missing");
    assert.equal(builds, 1);
    assert.match(lines.join("\n"), /building the web console.*missing/);
    assert.match(lines.join("\n"), /web console built in/);
    lines.length = 0;
    assert.equal(await ensureConsoleBuilt((l) => lines.push(l), { root, build }), "fresh");
    assert.equal(builds, 1);
    assert.deepEqual(lines, ["vpbx: web console up to date (console/dist)"]);
  });

  test("a failed build is said and does not stop the start", async () => {
    const lines: string[] = [];
    const state = await ensureConsoleBuilt((l) => lines.push(l), {
      root,
      build: async () => {
        throw new Error("vite exploded");
      },
    });
    assert.equal(state, "missing");
    assert.match(lines.at(-1) ?? "", /failed, the server starts without it.*vite exploded/);
  });
});
