#!/usr/bin/env node
// The `vpbx` command (and `npm start`): runs the server compiled into
// dist/server, compiling it first when it is missing or older than src/
// (scripts/build-server.mjs says why the server runs compiled).
import { ensureServerBuilt } from "../scripts/build-server.mjs";

try {
  ensureServerBuilt();
} catch (err) {
  process.stderr.write(`vpbx: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
await import("../dist/server/main.js");
