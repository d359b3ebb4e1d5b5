import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pino from "pino";
import type { Company } from "../pbx/company/company.ts";
import type { Store } from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { buildApi } from "./server.ts";
import { TokenGuard } from "./token-guard.ts";

const TOKEN = "right-admin-token-0123456789";

/** A log that the test can read. */
function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("TokenGuard", () => {
  test("10 wrong tokens within a minute block the source for 5 minutes", () => {
    const clock = new FakeClock();
    const guard = new TokenGuard(clock);
    for (let i = 0; i < 9; i++) {
      assert.equal(guard.failed("192.0.2.7"), 0);
      clock.tick(5_000);
    }
    assert.equal(guard.blockedFor("192.0.2.7"), 0, "9 failures: not yet");
    assert.equal(guard.failed("192.0.2.7"), 300_000, "the 10th starts the block");
    assert.equal(guard.blockedFor("192.0.2.7"), 300_000);
    assert.equal(guard.blockedFor("192.0.2.8"), 0, "another address is not concerned");
    clock.tick(299_000);
    assert.equal(guard.blockedFor("192.0.2.7"), 1_000);
    assert.equal(guard.failed("192.0.2.7"), 0, "failures while blocked do not lengthen the block");
    clock.tick(1_000);
    assert.equal(guard.blockedFor("192.0.2.7"), 0, "over after 5 minutes");
    assert.equal(guard.failed("192.0.2.7"), 0, "and counting starts afresh");
  });

  test("slow guessing under the rate is never blocked (the window slides)", () => {
    const clock = new FakeClock();
    const guard = new TokenGuard(clock);
    for (let i = 0; i < 100; i++) {
      assert.equal(guard.failed("192.0.2.7"), 0);
      clock.tick(7_000); // 9 in any minute
    }
    assert.equal(guard.blockedFor("192.0.2.7"), 0);
  });

  test("IPv6 sources count by their /64; IPv4-mapped addresses as IPv4", () => {
    const clock = new FakeClock();
    const guard = new TokenGuard(clock, { maxFailures: 3 });
    guard.failed("2001:db8:1:2::1");
    guard.failed("2001:db8:1:2::2");
    assert.ok(guard.failed("2001:db8:1:2:ffff::3") > 0, "three hosts of one /64 are one source");
    assert.ok(guard.blockedFor("2001:db8:1:2::99") > 0);
    assert.equal(guard.blockedFor("2001:db8:1:3::1"), 0, "the next /64 is another source");
    guard.failed("::ffff:192.0.2.9");
    guard.failed("192.0.2.9");
    assert.ok(guard.failed("::ffff:192.0.2.9") > 0);
    assert.ok(guard.blockedFor("192.0.2.9") > 0);
  });

  test("memory is bounded: a flood from many addresses keeps at most maxSources, blocked ones last", () => {
    const clock = new FakeClock();
    const guard = new TokenGuard(clock, { maxFailures: 2, maxSources: 100 });
    guard.failed("198.51.100.1");
    guard.failed("198.51.100.1");
    assert.ok(guard.blockedFor("198.51.100.1") > 0);
    for (let i = 0; i < 5000; i++) guard.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.ok(guard.size <= 100, `remembered ${guard.size}`);
    assert.ok(guard.blockedFor("198.51.100.1") > 0, "the blocked source was not evicted");
  });
});

describe("wrong admin tokens through the API", () => {
  /** The API with only what GET /api/v1/calls and /health need. */
  function api(clock: FakeClock, log: Logger) {
    return buildApi({
      store: {} as Store,
      company: {} as Company,
      pbx: { registrations: async () => [], calls: () => [] },
      verifyToken: (t) => t === TOKEN,
      log,
      isReady: () => true,
      clock,
    });
  }
  const get = (
    app: ReturnType<typeof api>,
    token: string | undefined,
    from = "203.0.113.5",
    url = "/api/v1/calls",
  ) =>
    app.inject({
      method: "GET",
      url,
      remoteAddress: from,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });

  test("10 wrong tokens in a minute: 429 with Retry-After for 5 minutes, even with the right token", async () => {
    const clock = new FakeClock();
    const { log, lines } = captureLog();
    const app = api(clock, log);
    try {
      for (let i = 0; i < 9; i++) {
        assert.equal((await get(app, `guess-${i}`)).statusCode, 401);
        clock.tick(1_000);
      }
      assert.equal((await get(app, TOKEN)).statusCode, 200, "before the block, the right token works");
      const tenth = await get(app, "guess-9");
      assert.equal(tenth.statusCode, 429);
      assert.equal(tenth.headers["retry-after"], "300");
      assert.equal(JSON.parse(tenth.body).error.code, "too_many_requests");
      const warn = lines.filter((l) => l.level === 40 && /wrong admin tokens/.test(String(l.msg)));
      assert.equal(warn.length, 1, "one warn line");
      assert.equal(warn[0].source, "203.0.113.5");

      // The attack: more guesses, and even the right token, get nothing but 429.
      clock.tick(60_000);
      const right = await get(app, TOKEN);
      assert.equal(right.statusCode, 429, "a blocked address learns nothing from a hit");
      assert.equal(right.headers["retry-after"], "240");
      assert.equal((await get(app, "guess-10")).statusCode, 429);
      assert.equal(lines.filter((l) => l.level === 40).length, 1, "no warn line per blocked request");

      // Others are not concerned, and /health is served to everyone.
      assert.equal((await get(app, TOKEN, "203.0.113.6")).statusCode, 200);
      assert.equal((await get(app, undefined, "203.0.113.5", "/health")).statusCode, 200);

      clock.tick(240_000);
      assert.equal((await get(app, TOKEN)).statusCode, 200, "the block ends after 5 minutes");
    } finally {
      await app.close();
    }
  });

  test("requests without a token are not counted as guesses", async () => {
    const clock = new FakeClock();
    const app = api(clock, captureLog().log);
    try {
      for (let i = 0; i < 20; i++) assert.equal((await get(app, undefined)).statusCode, 401);
      assert.equal((await get(app, TOKEN)).statusCode, 200);
    } finally {
      await app.close();
    }
  });

  test("without the guard, guessing would go on forever (what the block stops)", async () => {
    const clock = new FakeClock();
    const app = buildApi({
      store: {} as Store,
      company: {} as Company,
      pbx: { registrations: async () => [], calls: () => [] },
      verifyToken: (t) => t === TOKEN,
      log: captureLog().log,
      isReady: () => true,
      clock,
      tokenGuard: { maxFailures: Number.POSITIVE_INFINITY },
    });
    try {
      for (let i = 0; i < 50; i++) assert.equal((await get(app, `guess-${i}`)).statusCode, 401);
      assert.equal((await get(app, TOKEN)).statusCode, 200, "a guesser that hits gets in");
    } finally {
      await app.close();
    }
  });
});
