// The router alone, on a real SQLite store: each rule and its precedence,
// the outcomes that lead to forwarding, loops and the hop limit, the
// dialling policy and the cap of outside calls, with no sockets at all.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { makeCredentials } from "../../store/credentials.ts";
import { openStore } from "../../store/sql/open-store.ts";
import type { Actor, Binding, Store, Tenant, Trunk } from "../../store/types.ts";
import { silentLogger } from "../../util/log.ts";
import type { RingStep, Step } from "../call/steps.ts";
import { type CallContext, MAX_DIVERSIONS, Router, type RouterDeps } from "./router.ts";

const ACTOR: Actor = { kind: "api", id: "admin" };
let dir: string;
let store: Store;
let tenant: Tenant;
let trunk: Trunk | undefined;
let registered: Set<string>;
let inCalls: Map<string, number>;
let outside: number;
/** Extensions whose mailbox takes messages. */
let mailboxes: Set<string>;
/** What the company service says now: the schedule's mode, the call flow state, its own audio files. */
let mode: string;
let flowState: { state: string; normal: boolean };
let audio: Map<string, string>;
let now: number;

function binding(extension: string): Binding {
  return {
    tenant: "acme",
    extension,
    contact: `sip:${extension}@192.0.2.1:5062`,
    callId: `reg-${extension}`,
    cseq: 1,
    expiresAt: Date.now() + 60_000,
    source: { transport: "UDP", address: "192.0.2.1", port: 5062 },
  };
}

function router(): Router {
  const deps: RouterDeps = {
    store,
    devices: async (_t, ext) => (registered.has(ext) ? [binding(ext)] : []),
    trunkFor: async () => trunk,
    callsOf: (_t, ext) => inCalls.get(ext) ?? 0,
    outsideCallsOf: () => outside,
    mailboxOpen: async (_t, ext) => mailboxes.has(ext),
    company: {
      scheduleState: async () => ({ mode, label: mode, overridden: false }),
      callFlow: async () => ({ ...flowState, label: flowState.state }),
      audioFile: async (_t, kind) => audio.get(kind),
    },
    now: () => now,
    log: silentLogger(),
  };
  return new Router(deps);
}

async function ctx(from = "101"): Promise<CallContext> {
  const ext = (await store.extensions.get("acme", from))!;
  return { tenant, caller: { number: from, displayName: ext.displayName }, callerExtension: ext };
}

function ring(step: Step | undefined): RingStep {
  assert.equal(step?.kind, "ring", `expected a ring step, got ${JSON.stringify(step)}`);
  return step as RingStep;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "vpbx-router-"));
  store = await openStore({ dataDir: dir });
  tenant = await store.tenants.create({ name: "acme", domain: "acme.test" });
  for (const n of ["101", "102", "103", "104"]) {
    await store.extensions.create({
      tenant: "acme",
      number: n,
      displayName: `Ext ${n}`,
      credentials: makeCredentials(n, "acme.test", `secret-${n}-pw`),
    });
  }
  await store.numbers.add({
    tenant: "acme",
    number: "+41215550100",
    destination: { type: "extension", number: "101" },
  });
  trunk = await store.trunks.create({ name: "carrier", host: "192.0.2.50" });
  registered = new Set(["101", "102", "103"]);
  mode = "open";
  flowState = { state: "normal", normal: true };
  audio = new Map();
  now = Date.UTC(2026, 11, 1, 10, 0);
  inCalls = new Map();
  outside = 0;
  mailboxes = new Set();
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a feature code is an app; an extension rings its devices for its ring timeout", async () => {
  const r = router().begin(await ctx());
  assert.deepEqual(await r.first({ kind: "dialled", text: "*720791231212" }), {
    kind: "app",
    name: "feature-code",
    args: "*720791231212",
  });
  const step = ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "102" }),
  );
  assert.deepEqual(step.callee, { number: "102", displayName: "Ext 102" });
  assert.equal(step.timeoutMs, 30_000);
  assert.deepEqual(
    step.targets.map((t) => t.kind === "device" && t.binding.contact),
    ["sip:102@192.0.2.1:5062"],
  );
});

test("unknown numbers, unreachable and busy extensions without forwarding end with a spoken reason", async () => {
  assert.deepEqual(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "999" }),
    {
      kind: "hangup",
      status: 404,
      announcement: "error.number-not-assigned",
      reason: undefined,
    },
  );
  const unreachable = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "104" });
  assert.equal(unreachable.kind === "hangup" && unreachable.status, 480);
  inCalls.set("102", 1);
  const busy = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "102" });
  assert.deepEqual(busy.kind === "hangup" && [busy.status, busy.announcement], [486, "call.busy"]);
});

test("forwarding precedence: unconditional first, then busy, no answer and unreachable after the ring", async () => {
  await store.forwarding.set({ tenant: "acme", extension: "102", kind: "busy", target: "103" }, ACTOR);
  await store.forwarding.set({ tenant: "acme", extension: "102", kind: "noAnswer", target: "104" }, ACTOR);
  await store.extensions.update("acme", "102", { noAnswerSeconds: 7 });
  const r = router().begin(await ctx());
  const first = ring(await r.first({ kind: "dialled", text: "102" }));
  assert.equal(first.timeoutMs, 7000, "no-answer forwarding rings for noAnswerSeconds");
  const afterBusy = ring(await r.next({ kind: "busy" }));
  assert.equal(afterBusy.callee.number, "103");
  assert.deepEqual(
    afterBusy.diversions.map((d) => [d.from, d.reason]),
    [["102", "user-busy"]],
  );

  const r2 = router().begin(await ctx());
  await r2.first({ kind: "dialled", text: "102" });
  const afterNoAnswer = await r2.next({ kind: "no-answer" });
  // 104 has no device: the no-answer target is unreachable, without a rule of its own.
  assert.equal(afterNoAnswer?.kind === "hangup" && afterNoAnswer.status, 480);

  await store.forwarding.set(
    { tenant: "acme", extension: "102", kind: "unconditional", target: "103" },
    ACTOR,
  );
  const r3 = router().begin(await ctx());
  assert.equal(ring(await r3.first({ kind: "dialled", text: "102" })).callee.number, "103");
});

test("unreachable: no device registered goes to the unreachable target at once", async () => {
  await store.forwarding.set({ tenant: "acme", extension: "104", kind: "unreachable", target: "103" }, ACTOR);
  const step = ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "104" }),
  );
  assert.equal(step.callee.number, "103");
  assert.equal(step.diversions[0]?.reason, "unavailable");
});

test("a forwarding loop stops at the first extension seen twice", async () => {
  // Written straight to the store: the API and the codes refuse such loops when they are set.
  await store.forwarding.set(
    { tenant: "acme", extension: "102", kind: "unconditional", target: "103" },
    ACTOR,
  );
  await store.forwarding.set(
    { tenant: "acme", extension: "103", kind: "unconditional", target: "102" },
    ACTOR,
  );
  const step = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "102" });
  assert.equal(step.kind === "hangup" && step.status, 482);
});

test("the hop limit stops long chains", async () => {
  for (let i = 0; i < 8; i++) {
    await store.extensions.create({
      tenant: "acme",
      number: `20${i}`,
      displayName: "",
      credentials: makeCredentials(`20${i}`, "acme.test", "secret-chain-pw"),
    });
  }
  for (let i = 0; i < 7; i++) {
    await store.forwarding.set(
      { tenant: "acme", extension: `20${i}`, kind: "unconditional", target: `20${i + 1}` },
      ACTOR,
    );
  }
  const step = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "200" });
  assert.equal(step.kind, "hangup");
  assert.ok(MAX_DIVERSIONS < 7);
});

test("a 302 from a device is followed like a number dialled in the company", async () => {
  const r = router().begin(await ctx());
  await r.first({ kind: "dialled", text: "102" });
  const step = ring(await r.next({ kind: "redirected", contacts: ["103"] }));
  assert.equal(step.callee.number, "103");
  assert.equal(step.diversions[0]?.reason, "deflection");
});

test("call waiting: a second call rings until maxCalls", async () => {
  inCalls.set("102", 1);
  await store.extensions.update("acme", "102", { callWaiting: true, maxCalls: 2 });
  ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "102" }),
  );
  inCalls.set("102", 2);
  const busy = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "102" });
  assert.equal(busy.kind === "hangup" && busy.status, 486);
});

test("public numbers go to the trunk with the company's caller ID; policy and cap refuse", async () => {
  const step = ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "0791231212" }),
  );
  assert.deepEqual(
    step.targets.map((t) => t.kind === "trunk" && [t.trunk.name, t.number]),
    [["carrier", "+41791231212"]],
  );
  assert.equal(step.from.number, "+41215550100");

  await store.extensions.update("acme", "101", { callerId: "+41215550101" });
  const own = ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "0791231212" }),
  );
  assert.equal(own.from.number, "+41215550101");

  for (const [typed, reason] of [
    ["0900123456", "premium-rate"],
    ["0878123456", "personal"],
    ["0033612345678", "international"],
    ["0848123456", "shared-cost"],
  ]) {
    const refused = await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: typed! });
    assert.equal(refused.kind === "hangup" && refused.status, 403, `${typed} (${reason})`);
  }
  tenant = (await store.tenants.update("acme", { policy: { international: true } }))!;
  ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "0033612345678" }),
  );

  outside = tenant.policy.maxExternalCalls;
  const capped = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "0791231212" });
  assert.equal(capped.kind === "hangup" && capped.status, 403);
  // Emergency calls are never capped.
  const emergency = ring(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "144" }),
  );
  assert.equal(emergency.targets[0]?.kind === "trunk" && emergency.targets[0].number, "144");
});

test("forwarded to a public number: the outside caller's own number is shown, with the diversion", async () => {
  await store.forwarding.set(
    { tenant: "acme", extension: "101", kind: "unconditional", target: "+41791231212" },
    ACTOR,
  );
  const r = router().begin({ tenant, caller: { number: "+41449998877" } });
  const step = ring(
    await r.first({ kind: "destination", destination: { type: "extension", number: "101" } }),
  );
  assert.equal(step.from.number, "+41449998877");
  assert.deepEqual(step.diversions, [{ from: "101", reason: "unconditional", publicNumber: "+41215550100" }]);
});

test("without a trunk, a public number is refused with 503", async () => {
  trunk = undefined;
  const step = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "0791231212" });
  assert.equal(step.kind === "hangup" && step.status, 503);
});

test("voicemail takes busy, unanswered and unreachable calls when no forwarding does", async () => {
  mailboxes.add("102");
  mailboxes.add("104");
  inCalls.set("102", 1);
  assert.deepEqual(
    await router()
      .begin(await ctx())
      .first({ kind: "dialled", text: "102" }),
    {
      kind: "app",
      name: "voicemail",
      args: "102",
      reason: "busy",
    },
  );
  inCalls.clear();
  const r = router().begin(await ctx());
  ring(await r.first({ kind: "dialled", text: "102" }));
  assert.deepEqual(await r.next({ kind: "no-answer" }), {
    kind: "app",
    name: "voicemail",
    args: "102",
    reason: "unavailable",
  });
  const unreachable = await router()
    .begin(await ctx())
    .first({ kind: "dialled", text: "104" });
  assert.equal(unreachable.kind === "app" && unreachable.reason, "unavailable");
  // A forwarding rule wins over the mailbox.
  await store.forwarding.set({ tenant: "acme", extension: "102", kind: "noAnswer", target: "103" }, ACTOR);
  const f = router().begin(await ctx());
  ring(await f.first({ kind: "dialled", text: "102" }));
  assert.equal(ring(await f.next({ kind: "no-answer" })).callee.number, "103");
  // A number can lead straight to a mailbox; a closed one is unreachable.
  const direct = await router()
    .begin({ tenant, caller: { number: "+41449998877" } })
    .first({ kind: "destination", destination: { type: "voicemail", number: "102" } });
  assert.equal(direct.kind === "app" && direct.name, "voicemail");
  const closed = await router()
    .begin({ tenant, caller: { number: "+41449998877" } })
    .first({ kind: "destination", destination: { type: "voicemail", number: "103" } });
  assert.equal(closed.kind === "hangup" && closed.status, 480);
});

const outsider = () => router().begin({ tenant, caller: { number: "+41449998877" } });

test("a simultaneous ring group rings its available members at once, then its fallback", async () => {
  await store.ringGroups.create({
    tenant: "acme",
    name: "shop",
    members: ["102", "103", "104"],
    timeout: 45,
    fallback: { type: "voicemail", number: "101" },
  });
  mailboxes.add("101");
  inCalls.set("103", 1); // busy, without call waiting
  const r = outsider();
  const step = ring(
    await r.first({ kind: "destination", destination: { type: "ring-group", name: "shop" } }),
  );
  assert.deepEqual(
    step.targets.map((t) => t.kind === "device" && t.extension),
    ["102"],
    "103 is busy and 104 has no phone",
  );
  assert.equal(step.timeoutMs, 45_000);
  assert.equal(step.waiting, undefined, "straight from a number: no waiting music");
  const next = await r.next({ kind: "no-answer" });
  assert.deepEqual(next, { kind: "app", name: "voicemail", args: "101", reason: "unavailable" });
  // Nobody available: the fallback at once.
  registered.clear();
  const none = await outsider().first({
    kind: "destination",
    destination: { type: "ring-group", name: "shop" },
  });
  assert.equal(none.kind, "app");
});

test("a sequential ring group rings one member after the other within the group's timeout", async () => {
  await store.ringGroups.create({
    tenant: "acme",
    name: "desk",
    members: ["101", "102", "103"],
    strategy: "sequential",
    timeout: 50,
    memberTimeout: 20,
    fallback: { type: "hangup" },
  });
  const r = outsider();
  const first = ring(
    await r.first({ kind: "destination", destination: { type: "ring-group", name: "desk" } }),
  );
  assert.deepEqual(
    first.targets.map((t) => t.kind === "device" && t.extension),
    ["101"],
  );
  assert.equal(first.timeoutMs, 20_000);
  now += 20_000;
  const second = ring(await r.next({ kind: "busy" }));
  assert.deepEqual(
    second.targets.map((t) => t.kind === "device" && t.extension),
    ["102"],
  );
  now += 20_000;
  const third = ring(await r.next({ kind: "no-answer" }));
  assert.deepEqual(
    third.targets.map((t) => t.kind === "device" && t.extension),
    ["103"],
  );
  assert.equal(third.timeoutMs, 10_000, "only what is left of the group's 50 s");
  now += 10_000;
  const last = await r.next({ kind: "no-answer" });
  assert.equal(last?.kind, "hangup");
});

test("an announcement destination says the company's own recording, else the default, then goes on", async () => {
  const closed = {
    type: "announcement",
    announcement: "closed",
    then: { type: "extension", number: "102" },
  } as const;
  const r = outsider();
  assert.deepEqual(await r.first({ kind: "destination", destination: closed }), {
    kind: "play",
    items: ["announcement.default.closed"],
  });
  assert.equal(ring(await r.next({ kind: "played" })).callee.number, "102");
  audio.set("closed", "/data/closed.wav");
  const off = await outsider().first({ kind: "destination", destination: closed });
  assert.deepEqual(
    off,
    { kind: "play", items: ["announcement.default.closed"] },
    "announcements off: the default",
  );
  tenant = (await store.tenants.update("acme", { features: { announcements: true } }))!;
  const on = await outsider().first({ kind: "destination", destination: closed });
  assert.deepEqual(on, { kind: "play", items: [{ file: "/data/closed.wav" }] });
});

test("the inbound flow: welcome, then the call flow state, then the schedule mode's destination", async () => {
  await store.ringGroups.create({ tenant: "acme", name: "shop", members: ["102", "103"] });
  const actor: Actor = { kind: "api", id: "admin" };
  await store.companyFlow.setSchedule(
    "acme",
    {
      modes: {
        open: { destination: { type: "ring-group", name: "shop" } },
        closed: {
          destination: {
            type: "announcement",
            announcement: "closed",
            then: { type: "voicemail", number: "101" },
          },
        },
      },
      default: "closed",
      weekly: [{ days: ["mon"], from: "08:00", to: "18:00", mode: "open" }],
      exceptions: [],
    },
    actor,
  );
  const flow = { type: "inbound-flow" } as const;
  // Schedules off: the schedule's default mode, whatever the time.
  const off = await outsider().first({ kind: "destination", destination: flow });
  assert.equal(off.kind, "play");
  tenant = (await store.tenants.update("acme", {
    features: { schedules: true, callFlowControl: true, announcements: true },
    waitingSeconds: 40,
  }))!;
  const open = ring(await outsider().first({ kind: "destination", destination: flow }));
  assert.deepEqual(
    open.targets.map((t) => t.kind === "device" && t.extension),
    ["102", "103"],
  );
  assert.deepEqual(open.waiting, {
    music: undefined,
    announcement: ["announcement.default.waiting"],
    firstMs: 40_000,
    everyMs: 40_000,
  });
  // The company's welcome first, its own waiting message and music.
  audio.set("welcome", "/a/welcome.wav").set("waiting", "/a/waiting.wav").set("music", "/a/music.wav");
  const r = outsider();
  assert.deepEqual(await r.first({ kind: "destination", destination: flow }), {
    kind: "play",
    items: [{ file: "/a/welcome.wav" }],
  });
  const after = ring(await r.next({ kind: "played" }));
  assert.equal(after.waiting?.music, "/a/music.wav");
  assert.deepEqual(after.waiting?.announcement, [{ file: "/a/waiting.wav" }]);
  // The group times out: its fallback (hangup by default) — the flow does not start again.
  assert.equal((await r.next({ kind: "no-answer" }))?.kind, "hangup");
  audio.clear();
  // Closed by the schedule.
  mode = "closed";
  const c = outsider();
  assert.deepEqual(await c.first({ kind: "destination", destination: flow }), {
    kind: "play",
    items: ["announcement.default.closed"],
  });
  mailboxes.add("101");
  assert.equal((await c.next({ kind: "played" }))?.kind, "app");
  // The call flow in its other state wins over the schedule.
  mode = "open";
  flowState = { state: "vacation", normal: false };
  const v = await outsider().first({ kind: "destination", destination: flow });
  assert.deepEqual(v, { kind: "play", items: ["announcement.default.vacation"] });
  // ... unless call flow control is off.
  tenant = (await store.tenants.update("acme", { features: { callFlowControl: false } }))!;
  assert.equal((await outsider().first({ kind: "destination", destination: flow })).kind, "ring");
});

test("destinations that name each other in a loop end the call", async () => {
  await store.ringGroups.create({
    tenant: "acme",
    name: "a",
    members: ["104"],
    fallback: { type: "inbound-flow" },
  });
  await store.companyFlow.setSchedule(
    "acme",
    {
      modes: { open: { destination: { type: "ring-group", name: "a" } } },
      default: "open",
      weekly: [],
      exceptions: [],
    },
    { kind: "api", id: "admin" },
  );
  const step = await outsider().first({ kind: "destination", destination: { type: "inbound-flow" } });
  assert.deepEqual(step, { kind: "hangup", status: 482, reason: "Loop Detected", announcement: undefined });
});
