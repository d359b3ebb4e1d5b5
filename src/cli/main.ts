#!/usr/bin/env node
// The `vpbx` command (bin/vpbx.js, or `tsx src/cli/main.ts`): process
// plumbing only, the commands are in run.ts.
import type { Config } from "../config.ts";
import { runCli } from "./run.ts";

// The server is loaded only by `vpbx start`, so that `vpbx tenant add` does
// not pull in the SIP and media stacks.
async function start(config: Config) {
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
