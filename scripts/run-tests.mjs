#!/usr/bin/env node
// Runs every *.test.ts under src/, test/ and console/src/ (the console's
// plain TypeScript logic) through node:test with tsx.
// Node 20's --test takes no glob patterns, so the files are listed here.
// Usage: npm test [-- filter]   (a filter keeps the files whose path contains it)
//
// PostgreSQL: when it is installed (or CI=true, where its absence is an
// error), one throw-away server (test/support/postgres.ts) serves the whole
// run; the test processes find it in VPBX_TEST_PG_URL and run the store's
// tests on it as well as on SQLite. A VPBX_TEST_PG_URL already set names a
// server of your own (its maintenance database, as a superuser) and is used as is.
//
// The run fails when any test failed, when a file could not be loaded, and
// when tests were cancelled: a suite whose setup (a before hook) fails has
// its tests cancelled, not failed, and a summary of "fail 0" must not pass
// for a green run. The summary is read from a second, TAP reporter written
// to a temporary file, whatever the reporter shown on the terminal.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tsImport } from "tsx/esm/api";
import { ensureServerBuilt } from "./build-server.mjs";

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...walk("src", []), ...walk("test", []), ...walk("console/src", [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}

// The tests that start `vpbx` as an operator does (bin/vpbx.js) run the
// compiled server: compiled once here, not by several of them at once.
try {
  ensureServerBuilt();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}

const env = { ...process.env };
let postgres;
if (!env.VPBX_TEST_PG_URL) {
  const { findPostgresBin, startPostgres } = await tsImport("../test/support/postgres.ts", import.meta.url);
  if (findPostgresBin() !== undefined) {
    postgres = await startPostgres();
    env.VPBX_TEST_PG_URL = postgres.url;
  } else if (process.env.CI === "true") {
    console.error(
      "PostgreSQL is not installed, and CI=true runs the store's tests on it (apt-get install postgresql)",
    );
    process.exit(1);
  } else {
    console.error("PostgreSQL is not installed: the store's tests run on SQLite only");
  }
}

/**
 * The counts of the last top-level TAP summary ("# fail 0", "# cancelled 2"...),
 * or undefined when the run ended without one.
 */
function readSummary(tap) {
  const count = (name) => {
    const all = [...tap.matchAll(new RegExp(`^# ${name} (\\d+)$`, "gm"))];
    return all.length ? Number(all[all.length - 1][1]) : undefined;
  };
  const tests = count("tests");
  if (tests === undefined) return undefined;
  return { tests, fail: count("fail") ?? 0, cancelled: count("cancelled") ?? 0 };
}

const summaryDir = mkdtempSync(join(tmpdir(), "vpbx-test-summary-"));
const summaryFile = join(summaryDir, "summary.tap");
// Node's own choice when no reporter is named: spec on a terminal, TAP otherwise.
const shown = process.stdout.isTTY ? "spec" : "tap";

let status = 1;
try {
  status = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--test",
        "--test-concurrency=2",
        "--test-timeout=120000",
        `--test-reporter=${shown}`,
        "--test-reporter-destination=stdout",
        "--test-reporter=tap",
        `--test-reporter-destination=${summaryFile}`,
        ...files,
      ],
      { stdio: "inherit", env },
    );
    // Interrupted (Ctrl-C, a CI timeout): the tests end first, then the
    // server is stopped and its directory removed (finally, below).
    const forward = (signal) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.once("error", (err) => {
      console.error(`cannot run the tests: ${err.message}`);
      resolve(1);
    });
    child.once("exit", (code) => resolve(code ?? 1));
  });
  let summary;
  try {
    summary = readSummary(readFileSync(summaryFile, "utf8"));
  } catch (err) {
    console.error(`cannot read the test summary: ${err.message}`);
  }
  if (!summary) {
    console.error("the test run ended without a summary: counted as failed");
    status ||= 1;
  } else {
    if (summary.cancelled > 0) {
      console.error(
        `${summary.cancelled} test(s) cancelled: a suite's setup (before hook) failed or a test ran out of time; the run fails`,
      );
      status ||= 1;
    }
    if (summary.fail > 0) status ||= 1;
  }
} finally {
  rmSync(summaryDir, { recursive: true, force: true });
  await postgres?.stop();
}
process.exit(status);
