#!/usr/bin/env -S node --max-old-space-size=1024
// The `vpbx` command (and `npm start`): runs the server compiled into
// dist/server, compiling it first when it is missing or older than src/
// (scripts/build-server.mjs says why the server runs compiled).
//
// The V8 heap option above is the server's memory policy (issue #10: a
// REGISTER flood must not grow it). Under a flood V8 lets the old generation
// grow to four times what is live before collecting it, on a machine whose
// memory allows a heap of 2 GB or more; under that V8 scales the factor
// with the limit, to at most 1.6 for 1 GB. Measured with SIPp offering 3,000
// REGISTER/s: at most 292 MB resident, +5 % over the flood's second half,
// against 358 MB and +20 % with Node's defaults, at the same rate of
// completed REGISTERs. The cost is in latency under heavy call load: with
// the old generation collected more often, setup p99 at 400-600 calls/s
// rose from 0.04-0.14 s to about 0.5 s (every call still completed up to
// 600/s in the peers bench). (Young-generation halves of 4 MB instead of 16
// saved 30 MB more but cost a sixth of the CPU per call.)
// 1 GB holds some 20,000 calls at once; a node that needs more runs
// `node --max-old-space-size=4096 bin/vpbx.js start`. The benches read the
// options from this line.

import { ensureServerBuilt } from "../scripts/build-server.mjs";

try {
  ensureServerBuilt();
} catch (err) {
  process.stderr.write(`vpbx: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
await import("../dist/server/main.js");
