#!/usr/bin/env node
// The `vpbx` command (bin/vpbx.js, or `tsx src/cli/main.ts`): process
// plumbing only, the commands are in run.ts.
import v8 from "node:v8";
import type { Config } from "../config.ts";
import { runCli } from "./run.ts";

/** The old generation's headroom over its live size, in percent (V8's default is 100 to 300). */
const HEAP_GROWING_PERCENT = 30;

// The server is loaded only by `vpbx start`, so that `vpbx tenant add` does
// not pull in the SIP and media stacks.
async function start(config: Config) {
  // V8 lets its old generation grow to several times what is live before
  // collecting it; under a flood of requests (short-lived objects promoted
  // by a busy thread) that is hundreds of megabytes of garbage. A server
  // keeps its heap within 30 % of what is live instead, at the cost of more
  // frequent (concurrent) marking. Read by V8 at each collection.
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  // The web console is built first when console/dist is missing or older than its sources.
  const { ensureConsoleBuilt } = await import("./console-build.ts");
  await ensureConsoleBuilt((line) => process.stdout.write(`${line}\n`));
  const { startVpbx } = await import("../main.ts");
  return startVpbx(config);
}

/** Resolves on the first SIGTERM or SIGINT; a second one while stopping exits at once. */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(1);
      stopping = true;
      resolve();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

const status = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  start,
  stopSignal,
});
// `start` returns only once its server has stopped: exit even if some
// handle (a socket the server forgot) would keep the process alive. Other
// commands end by themselves, after their output is flushed.
if (process.argv[2] === "start") process.exit(status);
process.exitCode = status;
