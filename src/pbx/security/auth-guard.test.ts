import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import type { AuthBlock, AuthBlockRepository } from "../../store/types.ts";
import { FakeClock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { AuthGuard, type AuthGuardOptions } from "./auth-guard.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** store.authBlocks in memory, shared by the "nodes" of a test; `broken` makes every call fail. */
class MemoryBlocks implements AuthBlockRepository {
  readonly rows = new Map<string, AuthBlock>();
  broken = false;
  queries = 0;
  private check(): void {
    this.queries++;
    if (this.broken) throw new Error("store down");
  }
  async get(subject: string) {
    this.check();
    const b = this.rows.get(subject);
    return b && { ...b };
  }
  async put(block: AuthBlock) {
    this.check();
    this.rows.set(block.subject, { ...block });
  }
  async remove(subject: string) {
    this.check();
    this.rows.delete(subject);
  }
  async active(now: number) {
    this.check();
    return [...this.rows.values()].filter((b) => b.until > now).map((b) => ({ ...b }));
  }
  async purge(before: number) {
    this.check();
    let n = 0;
    for (const [s, b] of this.rows) if (b.lastAt < before && this.rows.delete(s)) n++;
    return n;
  }
}

function setup(opts: Partial<AuthGuardOptions> & { clock?: FakeClock; blocks?: MemoryBlocks } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const blocks = opts.blocks ?? new MemoryBlocks();
  const lines: Record<string, unknown>[] = [];
  const log: Logger = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const guard = new AuthGuard({ ...opts, clock, log, blocks });
  return { clock, blocks, lines, guard };
}

async function fail(guard: AuthGuard, n: number, source: string, account?: string): Promise<void> {
  for (let i = 0; i < n; i++) await guard.recordFailure(source, account);
}

test("a source is blocked at 10 failures a minute, or 100 an hour, not at 9 a minute for 10 minutes", async () => {
  const { guard, clock } = setup();
  await guard.ready();
  await fail(guard, 9, "192.0.2.1");
  assert.equal(guard.blockedBy("192.0.2.1"), undefined);
  await guard.recordFailure("192.0.2.1");
  assert.equal(guard.blockedBy("192.0.2.1"), "192.0.2.1");

  // Nine a minute: under the minute's limit, caught by the hour's (100) in the 12th minute.
  let minutes = 0;
  while (guard.blockedBy("192.0.2.2") === undefined && minutes < 60) {
    await fail(guard, 9, "192.0.2.2");
    clock.tick(MINUTE);
    minutes++;
  }
  assert.equal(minutes, 12);
});

test("an account is blocked at 30 failures an hour or 100 a day, from any sources", async () => {
  const { guard, lines } = setup();
  await guard.ready();
  for (let i = 0; i < 29; i++) await guard.recordFailure(`198.51.100.${i}`, "acme/101");
  assert.equal(guard.blockedBy("203.0.113.1", "acme/101"), undefined);
  await guard.recordFailure("198.51.100.200", "acme/101");
  assert.equal(guard.blockedBy("203.0.113.1", "acme/101"), "acme/101");
  assert.equal(guard.blockedBy("203.0.113.1", "acme/102"), undefined);
  assert.equal(guard.blockedBy("203.0.113.1"), undefined, "no account named, no account block");
  const line = lines.find((l) => l.msg === "sip auth account blocked");
  assert.deepEqual(
    [line?.account, line?.failures, line?.windowSeconds, line?.level],
    ["acme/101", 30, 3600, 40],
  );

  // 25 an hour never reach 30 in an hour, but reach 100 in a day.
  const slow = setup();
  await slow.guard.ready();
  let hours = 0;
  while (slow.guard.blockedBy("x", "acme/102") === undefined && hours < 24) {
    for (let i = 0; i < 25; i++) {
      await slow.guard.recordFailure(`198.51.100.${i}`, "acme/102");
      slow.clock.tick(HOUR / 25);
    }
    hours++;
  }
  assert.equal(hours, 4);
});

test("blocks grow ×4 per offence from 10 minutes, up to 7 days; offences are forgotten after 30 days", async () => {
  const { guard, clock, blocks } = setup({ sourceLimits: [{ failures: 1, windowMs: MINUTE }] });
  await guard.ready();
  const lengths: number[] = [];
  for (let i = 0; i < 8; i++) {
    await guard.recordFailure("192.0.2.1");
    const b = guard.activeBlock("192.0.2.1");
    assert.ok(b);
    lengths.push((b.until - clock.now()) / MINUTE);
    // Failures during a block neither count nor lengthen it.
    await guard.recordFailure("192.0.2.1");
    assert.equal(guard.activeBlock("192.0.2.1")?.until, b.until);
    await clock.advanceTo(b.until);
    assert.equal(guard.blockedBy("192.0.2.1"), undefined);
  }
  assert.deepEqual(lengths, [10, 40, 160, 640, 2560, 10080, 10080, 10080]);
  assert.equal(blocks.rows.get("192.0.2.1")?.offences, 8);
  // A month of good behaviour: the next block is a first one again, and the old record is purged.
  await clock.advance(30 * DAY + 1);
  await guard.ready();
  await new Promise((r) => setImmediate(r));
  assert.equal(blocks.rows.size, 0, "purged");
  await guard.recordFailure("192.0.2.1");
  assert.equal(guard.activeBlock("192.0.2.1")?.offences, 1);
});

test("a source that authenticated for the account lately is exempt from its block, not from its own", async () => {
  const { guard, clock } = setup({
    accountLimits: [{ failures: 3, windowMs: HOUR }],
    sourceLimits: [{ failures: 3, windowMs: MINUTE }],
  });
  await guard.ready();
  guard.recordSuccess("192.0.2.10", "acme/101");
  await fail(guard, 3, "198.51.100.1", "acme/101");
  assert.equal(guard.blockedBy("198.51.100.1", "acme/101"), "198.51.100.1");
  assert.equal(guard.blockedBy("203.0.113.9", "acme/101"), "acme/101");
  assert.equal(guard.blockedBy("192.0.2.10", "acme/101"), undefined, "the office phone");
  // Exempt for another account's block? No: it authenticated for 101 only.
  await fail(guard, 3, "198.51.100.2", "acme/102");
  assert.equal(guard.blockedBy("192.0.2.10", "acme/102"), "acme/102");
  // Its own source block applies in full.
  await fail(guard, 3, "192.0.2.10", "acme/101");
  assert.equal(guard.blockedBy("192.0.2.10", "acme/101"), "192.0.2.10");
  // The exemption lasts 7 days from the last success.
  const other = setup({ accountLimits: [{ failures: 1, windowMs: HOUR }], clock });
  await other.guard.ready();
  other.guard.recordSuccess("192.0.2.10", "acme/101");
  await clock.advance(7 * DAY + 1);
  await other.guard.recordFailure("198.51.100.1", "acme/101");
  assert.equal(other.guard.blockedBy("192.0.2.10", "acme/101"), "acme/101");
});

test("the exemptions are bounded, oldest forgotten first", async () => {
  const { guard } = setup({ accountLimits: [{ failures: 1, windowMs: HOUR }], maxTracked: 3 });
  await guard.ready();
  for (const s of ["a", "b", "c"]) guard.recordSuccess(s, "acme/101");
  guard.recordSuccess("a", "acme/101"); // a is now the newest
  guard.recordSuccess("d", "acme/101"); // b goes
  await guard.recordFailure("x", "acme/101");
  assert.deepEqual(
    ["a", "b", "c", "d"].map((s) => guard.blockedBy(s, "acme/101") ?? "exempt"),
    ["exempt", "acme/101", "exempt", "exempt"],
  );
});

test("blocks are kept in the store: a restart and another node see them; a flood does not query per request", async () => {
  const clock = new FakeClock();
  const blocks = new MemoryBlocks();
  const nodeA = setup({ clock, blocks, sourceLimits: [{ failures: 2, windowMs: MINUTE }] });
  const nodeB = setup({ clock, blocks, refreshMs: 15_000 });
  await nodeA.guard.ready();
  await nodeB.guard.ready();
  await fail(nodeA.guard, 2, "192.0.2.1");
  assert.equal(blocks.rows.get("192.0.2.1")?.offences, 1);
  // A fresh process reads it at start.
  const restarted = setup({ clock, blocks });
  await restarted.guard.ready();
  assert.equal(restarted.guard.blockedBy("192.0.2.1"), "192.0.2.1");
  // The running node B sees it at its next refresh.
  assert.equal(nodeB.guard.blockedBy("192.0.2.1"), undefined);
  clock.tick(15_000);
  await nodeB.guard.ready();
  await new Promise((r) => setImmediate(r));
  assert.equal(nodeB.guard.blockedBy("192.0.2.1"), "192.0.2.1");
  // A block lifted in the store (by an operator) is lifted on the nodes at their refresh.
  await blocks.remove("192.0.2.1");
  clock.tick(15_000);
  await nodeB.guard.ready();
  await new Promise((r) => setImmediate(r));
  assert.equal(nodeB.guard.blockedBy("192.0.2.1"), undefined);
  // A flood of failures from a blocked source: answered from the cache.
  await fail(nodeB.guard, 10, "192.0.2.2");
  assert.equal(nodeB.guard.blockedBy("192.0.2.2"), "192.0.2.2");
  const before = blocks.queries;
  for (let i = 0; i < 1000; i++) {
    await nodeB.guard.ready();
    nodeB.guard.blockedBy("192.0.2.2", "acme/101");
    await nodeB.guard.recordFailure("192.0.2.2", "acme/101");
  }
  assert.ok(blocks.queries - before <= 2, `store queried ${blocks.queries - before} times`);
});

test("a store that fails is logged; the block still holds on this node", async () => {
  const { guard, blocks, lines } = setup({ sourceLimits: [{ failures: 1, windowMs: MINUTE }] });
  blocks.broken = true;
  await guard.ready();
  await guard.recordFailure("192.0.2.1");
  assert.equal(guard.blockedBy("192.0.2.1"), "192.0.2.1");
  assert.deepEqual(
    lines.filter((l) => l.level === 50).map((l) => l.msg),
    [
      "auth blocks could not be read from the store",
      "old auth blocks could not be purged",
      "auth block history could not be read",
      "auth block could not be stored",
    ],
  );
});

test("limits that make no sense are refused", () => {
  assert.throws(() => setup({ sourceLimits: [{ failures: 0, windowMs: MINUTE }] }), /invalid source limit/);
  assert.throws(() => setup({ accountLimits: [{ failures: 3, windowMs: 0 }] }), /invalid account limit/);
});
