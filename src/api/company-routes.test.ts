// The REST routes of a company's inbound flow over the real SQLite store and
// the real Company service (schedule, override timer, lamps, audio files),
// on a fake clock: Monday 2 March 2026, 11:45 in Zurich.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { speechLike } from "../../test/harness/audio.ts";
import { readWav, writeWav } from "../media/codec/wav.ts";
import { convertAudio } from "../pbx/company/audio-conversion.ts";
import { CompanyAudioFiles } from "../pbx/company/company-audio.ts";
import { CompanyService } from "../pbx/company/company-service.ts";
import { verifyPin } from "../pbx/voicemail/pin.ts";
import { openStore } from "../store/sql/open-store.ts";
import { DEFAULT_CALL_FLOW, DEFAULT_SCHEDULE, type Language, type Store } from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import { COMPANY_AUDIO_MAX_BYTES } from "./company-routes.ts";
import type { PbxView } from "./pbx-view.ts";
import { buildApi } from "./server.ts";

const TOKEN = "test-admin-token-0123456789";
const root = mkdtempSync(join(tmpdir(), "vpbx-api-company-"));
/** Monday 2026-03-02 11:45 in Zurich (UTC+1 until the end of March). */
const clock = new FakeClock(Date.UTC(2026, 2, 2, 10, 45, 0));
const MP3 = readFileSync(new URL("../media/codec/fixtures/tone-1khz.mp3", import.meta.url));
let store: Store;
let app: FastifyInstance;
let company: CompanyService;
const lamps: { tenant: string; code: string; on: boolean }[] = [];
const spoken: { text: string; language: Language }[] = [];
const pbx: PbxView = { registrations: async () => [], calls: () => [] };

before(async () => {
  store = await openStore({ dataDir: root, clock });
  const audio = new CompanyAudioFiles({
    store,
    dataDir: root,
    log: silentLogger(),
    speak: async (text, language) => {
      spoken.push({ text, language });
      return speechLike(1500);
    },
    convert: convertAudio,
  });
  company = new CompanyService({
    store,
    clock,
    log: silentLogger(),
    audio,
    lamps: { publishFeature: (tenant, code, on) => lamps.push({ tenant, code, on }) },
  });
  app = buildApi({
    store,
    pbx,
    company,
    verifyToken: (t) => t === TOKEN,
    log: silentLogger(),
    isReady: () => true,
  });
  await app.ready();
  assert.equal((await call("POST", "/api/v1/tenants", { name: "acme", domain: "acme.test" })).status, 201);
  for (const number of ["101", "102", "103"]) {
    const r = await call("POST", "/api/v1/tenants/acme/extensions", {
      number,
      password: "correct-horse-battery",
      displayName: `Phone ${number}`,
    });
    assert.equal(r.status, 201, r.raw);
  }
});
after(async () => {
  company.close();
  await app.close();
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
async function call(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const opts: InjectOptions = { method, url, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
  if (body !== undefined) opts.payload = body as InjectOptions["payload"];
  const res = await app.inject(opts);
  const json = (res.headers["content-type"] ?? "").toString().startsWith("application/json");
  return {
    status: res.statusCode,
    body: json && res.body ? JSON.parse(res.body) : undefined,
    raw: res.body,
    bytes: res.rawPayload,
    headers: res.headers,
  };
}

function assertError(r: { status: number; body: unknown; raw: string }, status: number, code: string) {
  assert.equal(r.status, status, r.raw);
  const b = r.body as { error: { code: string; message: string } };
  assert.equal(b.error.code, code);
  assert.ok(b.error.message.length > 0);
}

/** 400 whose message matches every pattern. */
function assertBadRequest(r: { status: number; body: unknown; raw: string }, ...messages: RegExp[]) {
  assertError(r, 400, "bad_request");
  const message = (r.body as { error: { message: string } }).error.message;
  for (const m of messages) assert.match(message, m);
}

/** The last state published for a lamp of a tenant's. */
function lamp(code: string, tenant = "acme"): boolean | undefined {
  return lamps.findLast((l) => l.tenant === tenant && l.code === code)?.on;
}

/** The audit log's length: a refused request writes nothing. */
async function auditCount(): Promise<number> {
  return (await store.audit.list("acme", { limit: 1000 })).length;
}

/** An announcement destination, then `next` (`then` written once, here). */
function announce(announcement: string, next: unknown): Record<string, unknown> {
  return { type: "announcement", announcement, then: next };
}

/** An announcement chain `depth` destinations deep, ending in a hang-up. */
function nested(depth: number): unknown {
  let d: unknown = { type: "hangup" };
  for (let i = 1; i < depth; i++) d = announce("closed", d);
  return d;
}

const WORKDAYS = ["mon", "tue", "wed", "thu", "fri"];
/** The users' page shop: open 08:00-12:00 and 13:30-18:00 on workdays, closed otherwise. */
function shop(): Record<string, unknown> {
  return {
    modes: {
      open: { destination: { type: "ring-group", name: "shop" } },
      closed: { label: "fermé", destination: announce("closed", { type: "voicemail", number: "101" }) },
    },
    default: "closed",
    weekly: [
      { days: WORKDAYS, from: "08:00", to: "12:00", mode: "open" },
      { days: WORKDAYS, from: "13:30", to: "18:00", mode: "open" },
    ],
    exceptions: [{ date: "2026-12-25", mode: "closed" }],
  };
}

const T = "/api/v1/tenants/acme";

describe("ring groups", () => {
  test("create (defaults filled in), list, get, patch, delete", async () => {
    const created = await call("POST", `${T}/ring-groups`, { name: "sales", members: ["102", "101"] });
    assert.equal(created.status, 201, created.raw);
    assert.deepEqual(created.body, {
      name: "sales",
      members: ["102", "101"],
      strategy: "simultaneous",
      timeout: 60,
      memberTimeout: 20,
      fallback: { type: "hangup" },
      createdAt: "2026-03-02T10:45:00.000Z",
    });
    const shopGroup = {
      name: "shop",
      members: ["101", "102"],
      strategy: "simultaneous",
      timeout: 60,
      memberTimeout: 20,
      fallback: { type: "voicemail", number: "101" },
    };
    const full = await call("POST", `${T}/ring-groups`, shopGroup);
    assert.equal(full.status, 201, full.raw);
    assert.deepEqual(full.body, { ...shopGroup, createdAt: "2026-03-02T10:45:00.000Z" });
    assert.deepEqual(
      (await call("GET", `${T}/ring-groups`)).body.map((g: { name: string }) => g.name).sort(),
      ["sales", "shop"],
    );
    assert.equal((await call("GET", `${T}/ring-groups/shop`)).body.fallback.number, "101");
    const patched = await call("PATCH", `${T}/ring-groups/sales`, {
      members: ["103"],
      strategy: "sequential",
      memberTimeout: 15,
      fallback: { type: "ring-group", name: "shop" },
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual(patched.body.members, ["103"]);
    assert.equal(patched.body.strategy, "sequential");
    assert.deepEqual(patched.body.fallback, { type: "ring-group", name: "shop" });
    assert.equal(patched.body.timeout, 60, "what the patch does not name stays");
    assert.equal((await call("DELETE", `${T}/ring-groups/sales`)).status, 204);
    assertError(await call("GET", `${T}/ring-groups/sales`), 404, "not_found");
  });

  test("400 naming the entry: unknown extension, fallback back to the group, too deep; nothing changes", async () => {
    const before = await call("GET", `${T}/ring-groups/shop`);
    const audited = await auditCount();
    assertBadRequest(
      await call("POST", `${T}/ring-groups`, { name: "desk", members: ["101", "109"] }),
      /members\[1\] extension 109 does not exist in tenant acme/,
    );
    assertBadRequest(
      await call("POST", `${T}/ring-groups`, {
        name: "desk",
        members: ["101"],
        fallback: { type: "ring-group", name: "nowhere" },
      }),
      /fallback ring group nowhere does not exist in tenant acme/,
    );
    assertBadRequest(
      await call("POST", `${T}/ring-groups`, { name: "desk", members: ["101"], fallback: nested(4) }),
      /fallback\.then\.then\.then nests too deep/,
    );
    assertBadRequest(
      await call("PATCH", `${T}/ring-groups/shop`, {
        members: ["103", "104"],
        fallback: announce("closed", { type: "ring-group", name: "shop" }),
      }),
      /members\[1\] extension 104 does not exist/,
      /fallback leads back to ring group shop/,
    );
    // Through another group's fallback.
    const back = await call("POST", `${T}/ring-groups`, {
      name: "back",
      members: ["103"],
      fallback: { type: "ring-group", name: "shop" },
    });
    assert.equal(back.status, 201, back.raw);
    assertBadRequest(
      await call("PATCH", `${T}/ring-groups/shop`, { fallback: { type: "ring-group", name: "back" } }),
      /fallback leads back to ring group shop \(through ring group back's fallback\)/,
    );
    assertBadRequest(await call("PATCH", `${T}/ring-groups/shop`, { timeout: 601 }), /timeout/);
    assertBadRequest(await call("PATCH", `${T}/ring-groups/shop`, { memberTimeout: 4 }), /memberTimeout/);
    assertBadRequest(
      await call("PATCH", `${T}/ring-groups/shop`, { members: ["101", "101"] }),
      /duplicate|twice/,
    );
    assertBadRequest(await call("POST", `${T}/ring-groups`, { name: "Desk!", members: ["101"] }), /name/);
    assert.equal((await call("DELETE", `${T}/ring-groups/back`)).status, 204);
    const audit = await auditCount();
    assert.deepEqual(
      (await call("GET", `${T}/ring-groups/shop`)).body,
      before.body,
      "the group is unchanged",
    );
    assert.equal(audit, audited + 2, "only the group made and removed on purpose was audited");
  });

  test("404 for an unknown tenant or group; 409 for a taken name or a group in use", async () => {
    assertError(await call("GET", "/api/v1/tenants/ghost/ring-groups"), 404, "not_found");
    assertError(
      await call("POST", "/api/v1/tenants/ghost/ring-groups", { name: "x", members: ["101"] }),
      404,
      "not_found",
    );
    assertError(await call("GET", `${T}/ring-groups/nobody`), 404, "not_found");
    assertError(await call("PATCH", `${T}/ring-groups/nobody`, { timeout: 30 }), 404, "not_found");
    assertError(await call("DELETE", `${T}/ring-groups/nobody`), 404, "not_found");
    assertError(await call("POST", `${T}/ring-groups`, { name: "shop", members: ["103"] }), 409, "conflict");
    const n = await call("POST", `${T}/numbers`, {
      number: "+41215550177",
      destination: { type: "ring-group", name: "shop" },
    });
    assert.equal(n.status, 201, n.raw);
    const inUse = await call("DELETE", `${T}/ring-groups/shop`);
    assertError(inUse, 409, "conflict");
    assert.match(inUse.body.error.message, /\+41215550177/);
    assert.equal((await call("DELETE", `${T}/numbers/%2B41215550177`)).status, 204);
  });
});

describe("numbers take every destination", () => {
  test("ring group, announcement, inbound flow; references checked; nothing added on refusal", async () => {
    const cases: [string, unknown][] = [
      ["+41215550101", { type: "ring-group", name: "shop" }],
      ["+41215550102", announce("welcome", { type: "inbound-flow" })],
      ["+41215550103", { type: "inbound-flow" }],
    ];
    for (const [number, destination] of cases) {
      const r = await call("POST", `${T}/numbers`, { number, destination });
      assert.equal(r.status, 201, r.raw);
      assert.deepEqual(r.body.destination, destination);
    }
    const bad: [unknown, RegExp][] = [
      [{ type: "ring-group", name: "nowhere" }, /destination ring group nowhere does not exist/],
      [
        announce("welcome", { type: "voicemail", number: "109" }),
        /destination\.then extension 109 does not exist/,
      ],
      [nested(4), /destination\.then\.then\.then nests too deep/],
      [announce("goodbye", { type: "hangup" }), /destination\.announcement/],
      [
        { type: "external", number: "0900 123 456" },
        /destination\.number \+41900123456 is refused by the tenant's dialling policy/,
      ],
    ];
    for (const [destination, message] of bad) {
      assertBadRequest(await call("POST", `${T}/numbers`, { number: "+41215550150", destination }), message);
    }
    assert.equal(await store.numbers.find("+41215550150"), undefined, "nothing added");
    for (const [number] of cases) {
      assert.equal((await call("DELETE", `${T}/numbers/${encodeURIComponent(number)}`)).status, 204);
    }
  });
});

describe("schedule", () => {
  test("the default until one is set; PUT stores it and GET shows it", async () => {
    assert.deepEqual((await call("GET", `${T}/schedule`)).body, DEFAULT_SCHEDULE);
    const put = await call("PUT", `${T}/schedule`, shop());
    assert.equal(put.status, 200, put.raw);
    assert.deepEqual(put.body, shop());
    assert.deepEqual((await call("GET", `${T}/schedule`)).body, shop());
    const audit = await store.audit.list("acme", { limit: 1 });
    assert.equal(audit[0]?.action, "schedule.update");
    assert.deepEqual(audit[0]?.actor, { kind: "api", id: "admin" });
  });

  test("state: the mode now, until when, the next transition, in the tenant's zone", async () => {
    const r = await call("GET", `${T}/schedule/state`);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(r.body, {
      mode: "open",
      label: "open",
      overridden: false,
      until: "2026-03-02T12:00:00.000+01:00",
      next: { at: "2026-03-02T12:00:00.000+01:00", mode: "closed" },
    });
  });

  test("400 naming the entry at fault; nothing changes", async () => {
    const audited = await auditCount();
    const cases: [(s: Record<string, unknown>) => void, RegExp[]][] = [
      [
        (s) => (s.weekly as unknown[]).push({ days: ["fri"], from: "17:00", to: "19:00", mode: "open" }),
        [/weekly\[2\]: overlaps weekly\[1\] on fri/],
      ],
      [
        (s) => (s.weekly as unknown[]).push({ days: ["sat"], from: "09:00", to: "12:00", mode: "lunch" }),
        [/weekly\[2\]\.mode: unknown mode "lunch"/],
      ],
      [(s) => (s.default = "night"), [/default: unknown mode "night"/]],
      [
        (s) => (s.weekly as unknown[]).push({ days: ["sat"], from: "12:00", to: "09:00", mode: "open" }),
        [/weekly\[2\]\.to: 09:00 is not after from \(12:00\)/],
      ],
      [
        (s) => (s.exceptions as unknown[]).push({ date: "2026-13-01", mode: "closed" }),
        [/exceptions\[1\]\.date/],
      ],
      [
        (s) => ((s.modes as Record<string, Record<string, unknown>>).closed.destination = nested(4)),
        [/modes\.closed\.destination\.then\.then\.then nests too deep/],
      ],
      [
        (s) =>
          ((s.modes as Record<string, Record<string, unknown>>).closed.destination = announce("closed", {
            type: "voicemail",
            number: "109",
          })),
        [/modes\.closed\.destination\.then extension 109 does not exist in tenant acme/],
      ],
      [
        (s) =>
          ((s.modes as Record<string, Record<string, unknown>>).open.destination = {
            type: "ring-group",
            name: "x",
          }),
        [/modes\.open\.destination ring group x does not exist/],
      ],
      [
        (s) =>
          ((s.modes as Record<string, Record<string, unknown>>).open.destination = { type: "inbound-flow" }),
        [/modes\.open\.destination leads back to the inbound flow/],
      ],
      [(s) => (s.holidays = []), [/unknown field "holidays"/]],
    ];
    for (const [change, messages] of cases) {
      const s = shop();
      change(s);
      assertBadRequest(await call("PUT", `${T}/schedule`, s), ...messages);
    }
    assertBadRequest(await call("PUT", `${T}/schedule`, { default: "open" }), /modes/);
    assert.deepEqual((await call("GET", `${T}/schedule`)).body, shop(), "the schedule is unchanged");
    assert.equal(await auditCount(), audited, "nothing audited");
    assertError(await call("PUT", "/api/v1/tenants/ghost/schedule", shop()), 404, "not_found");
    assertError(await call("GET", "/api/v1/tenants/ghost/schedule"), 404, "not_found");
    assertError(await call("GET", "/api/v1/tenants/ghost/schedule/state"), 404, "not_found");
  });

  test("a group whose fallback is the inbound flow cannot serve the inbound flow, either way round", async () => {
    assertBadRequest(
      await call("PATCH", `${T}/ring-groups/shop`, { fallback: { type: "inbound-flow" } }),
      /fallback leads back to ring group shop \(through the inbound flow's modes\.open\.destination\)/,
    );
    const loop = await call("POST", `${T}/ring-groups`, {
      name: "loop",
      members: ["103"],
      fallback: { type: "inbound-flow" },
    });
    assert.equal(loop.status, 201, loop.raw);
    const s = shop();
    (s.modes as Record<string, Record<string, unknown>>).open.destination = {
      type: "ring-group",
      name: "loop",
    };
    assertBadRequest(
      await call("PUT", `${T}/schedule`, s),
      /modes\.open\.destination leads back to the inbound flow \(through ring group loop's fallback\)/,
    );
    assert.equal((await call("DELETE", `${T}/ring-groups/loop`)).status, 204);
    assertError(await call("DELETE", `${T}/ring-groups/shop`), 409, "conflict");
  });

  test("POST next is *20: the next mode until the transition after it; again cancels; DELETE override", async () => {
    lamps.length = 0;
    const forced = await call("POST", `${T}/schedule/next`);
    assert.equal(forced.status, 200, forced.raw);
    assert.deepEqual(forced.body, {
      kind: "overridden",
      mode: "closed",
      label: "fermé",
      until: "2026-03-02T13:30:00.000+01:00",
    });
    assert.equal(lamp("*20"), true);
    const state = (await call("GET", `${T}/schedule/state`)).body;
    assert.equal(state.mode, "closed");
    assert.equal(state.overridden, true);
    assert.equal(state.until, "2026-03-02T13:30:00.000+01:00");
    assert.deepEqual(state.next, { at: "2026-03-02T12:00:00.000+01:00", mode: "closed" });

    const cancelled = await call("POST", `${T}/schedule/next`);
    assert.equal(cancelled.status, 200, cancelled.raw);
    assert.equal(cancelled.body.kind, "cancelled");
    assert.equal(cancelled.body.state.mode, "open");
    assert.equal(cancelled.body.state.overridden, false);
    assert.equal(lamp("*20"), false);

    assert.equal((await call("POST", `${T}/schedule/next`)).body.kind, "overridden");
    const del = await call("DELETE", `${T}/schedule/override`);
    assert.equal(del.status, 204, del.raw);
    assert.equal(await store.companyFlow.override("acme"), undefined);
    assert.equal(lamp("*20"), false);
    assert.equal((await call("GET", `${T}/schedule/state`)).body.overridden, false);
    assertError(await call("DELETE", `${T}/schedule/override`), 404, "not_found");
    assertError(await call("POST", "/api/v1/tenants/ghost/schedule/next"), 404, "not_found");
    assertError(await call("DELETE", "/api/v1/tenants/ghost/schedule/override"), 404, "not_found");
  });

  test("a renamed code moves its lamp; a deleted tenant's lamps go dark", async () => {
    assert.equal((await call("POST", `${T}/schedule/next`)).body.kind, "overridden");
    const renamed = await call("PUT", `${T}/feature-codes/schedule.next`, { code: "*29" });
    assert.equal(renamed.status, 200, renamed.raw);
    assert.equal(lamp("*20"), false);
    assert.equal(lamp("*29"), true);
    assert.equal((await call("DELETE", `${T}/feature-codes`)).status, 204);
    assert.equal(lamp("*29"), false);
    assert.equal(lamp("*20"), true);
    assert.equal((await call("POST", `${T}/schedule/next`)).body.kind, "cancelled");

    assert.equal((await call("POST", "/api/v1/tenants", { name: "beta", domain: "beta.test" })).status, 201);
    const hours = {
      modes: { open: { destination: { type: "hangup" } }, closed: { destination: { type: "hangup" } } },
      default: "closed",
      weekly: [{ days: WORKDAYS, from: "08:00", to: "18:00", mode: "open" }],
    };
    assert.equal((await call("PUT", "/api/v1/tenants/beta/schedule", hours)).status, 200);
    assert.equal(
      (await call("POST", "/api/v1/tenants/beta/schedule/next")).body.until,
      "2026-03-03T08:00:00.000+01:00",
    );
    assert.equal(lamp("*20", "beta"), true);
    assert.equal((await call("DELETE", "/api/v1/tenants/beta")).status, 204);
    assert.equal(lamp("*20", "beta"), false);
  });

  test("a schedule without transitions: POST next changes nothing", async () => {
    const zeta = await call("POST", "/api/v1/tenants", { name: "zeta", domain: "zeta.test" });
    assert.equal(zeta.status, 201, zeta.raw);
    const r = await call("POST", "/api/v1/tenants/zeta/schedule/next");
    assert.deepEqual(r.body, { kind: "no-transition" });
    assert.deepEqual((await call("GET", "/api/v1/tenants/zeta/schedule/state")).body, {
      mode: "open",
      label: "open",
      overridden: false,
      until: null,
      next: null,
    });
    assert.equal((await call("DELETE", "/api/v1/tenants/zeta")).status, 204);
  });
});

describe("call flow", () => {
  const dayNight = {
    state: "night",
    states: {
      day: { label: "jour" },
      night: { label: "nuit", destination: announce("vacation", { type: "voicemail", number: "101" }) },
    },
  };

  test("the default until one is set; PUT stores it and the lamp follows; toggle is *11", async () => {
    assert.deepEqual((await call("GET", `${T}/callflow`)).body, DEFAULT_CALL_FLOW);
    lamps.length = 0;
    const put = await call("PUT", `${T}/callflow`, dayNight);
    assert.equal(put.status, 200, put.raw);
    assert.deepEqual(put.body, dayNight);
    assert.deepEqual(Object.keys(put.body.states), ["day", "night"], "the order is kept: day is normal");
    assert.deepEqual((await call("GET", `${T}/callflow`)).body, dayNight);
    assert.equal(lamp("*11"), true);
    const toggled = await call("POST", `${T}/callflow/toggle`);
    assert.equal(toggled.status, 200, toggled.raw);
    assert.deepEqual(toggled.body, { state: "day", label: "jour", normal: true });
    assert.equal(lamp("*11"), false);
    assert.equal((await call("GET", `${T}/callflow`)).body.state, "day");
    const back = await call("POST", `${T}/callflow/toggle`);
    assert.deepEqual(back.body, { state: "night", label: "nuit", normal: false });
  });

  test("400: not two states, unknown state, a loop, bad labels; nothing changes; 404", async () => {
    const audited = await auditCount();
    const bad: [unknown, RegExp][] = [
      [{ state: "day", states: { day: {} } }, /states must NOT have fewer than 2 properties/],
      [
        { state: "day", states: { day: {}, night: {}, weekend: {} } },
        /states must NOT have more than 2 properties/,
      ],
      [{ ...dayNight, state: "evening" }, /state "evening" must be one of the states: day, night/],
      [
        { state: "day", states: { day: {}, night: { destination: { type: "inbound-flow" } } } },
        /states\.night\.destination leads back to the inbound flow/,
      ],
      [
        { state: "day", states: { day: {}, night: { destination: nested(4) } } },
        /states\.night\.destination\.then\.then\.then nests too deep/,
      ],
      [{ state: "day", states: { day: { label: "x".repeat(41) }, night: {} } }, /label/],
      [{ state: "Day", states: { Day: {}, night: {} } }, /states\.Day "Day": a state name/],
      [
        { state: "day", states: { day: {}, night: { destination: { type: "extension", number: "109" } } } },
        /states\.night\.destination extension 109 does not exist/,
      ],
    ];
    for (const [body, message] of bad) assertBadRequest(await call("PUT", `${T}/callflow`, body), message);
    assert.equal((await call("GET", `${T}/callflow`)).body.state, "night", "unchanged");
    assert.deepEqual((await call("GET", `${T}/callflow`)).body, dayNight);
    assert.equal(await auditCount(), audited);
    assertError(await call("GET", "/api/v1/tenants/ghost/callflow"), 404, "not_found");
    assertError(await call("PUT", "/api/v1/tenants/ghost/callflow", dayNight), 404, "not_found");
    assertError(await call("POST", "/api/v1/tenants/ghost/callflow/toggle"), 404, "not_found");
  });
});

describe("announcements and music", () => {
  const wav = () => writeWav(speechLike(2000, 16000), 16000);

  test("the list shows the defaults, then what the company set", async () => {
    const r = await call("GET", `${T}/announcements`);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(
      r.body,
      ["welcome", "waiting", "closed", "vacation", "music"].map((kind) => ({
        kind,
        custom: false,
        source: null,
        text: null,
        durationMs: null,
        updatedAt: null,
      })),
    );
    const none = await call("GET", `${T}/announcements/welcome`);
    assertError(none, 404, "not_found");
    assert.match(none.body.error.message, /the default prompt plays/);
    assert.match((await call("GET", `${T}/music`)).body.error.message, /ringback tone/);
  });

  test("upload a WAV, download it, reset it", async () => {
    const put = await call("PUT", `${T}/announcements/welcome`, wav(), { "content-type": "audio/wav" });
    assert.equal(put.status, 200, put.raw);
    assert.equal(put.body.kind, "welcome");
    assert.equal(put.body.custom, true);
    assert.equal(put.body.source, "upload");
    assert.equal(put.body.text, null);
    assert.ok(Math.abs(put.body.durationMs - 2000) <= 20, String(put.body.durationMs));
    const got = await call("GET", `${T}/announcements/welcome`);
    assert.equal(got.status, 200);
    assert.equal(got.headers["content-type"], "audio/wav");
    assert.equal(readWav(got.bytes).sampleRate, 8000, "kept at 8 kHz");
    const listed = (await call("GET", `${T}/announcements`)).body;
    assert.equal(listed[0].custom, true);
    assert.equal(listed[1].custom, false);
    assert.equal((await call("DELETE", `${T}/announcements/welcome`)).status, 204);
    assertError(await call("DELETE", `${T}/announcements/welcome`), 404, "not_found");
    assertError(await call("GET", `${T}/announcements/welcome`), 404, "not_found");
  });

  test("from text, in the tenant's language or the one given", async () => {
    spoken.length = 0;
    const fr = await call("PUT", `${T}/announcements/closed`, { text: "Nous sommes fermés." });
    assert.equal(fr.status, 200, fr.raw);
    assert.equal(fr.body.source, "text");
    assert.equal(fr.body.text, "Nous sommes fermés.");
    const de = await call("PUT", `${T}/announcements/vacation`, {
      text: "Wir sind in den Ferien.",
      language: "de",
    });
    assert.equal(de.status, 200, de.raw);
    assert.deepEqual(spoken, [
      { text: "Nous sommes fermés.", language: "fr" },
      { text: "Wir sind in den Ferien.", language: "de" },
    ]);
    assertBadRequest(await call("PUT", `${T}/announcements/closed`, { text: "" }), /text/);
    assertBadRequest(await call("PUT", `${T}/announcements/closed`, { text: "x", voice: "f" }), /voice/);
    assert.equal((await call("GET", `${T}/announcements`)).body[2].text, "Nous sommes fermés.", "unchanged");
  });

  test("music as MP3; bad audio is 400 and changes nothing; unknown kinds 404", async () => {
    const put = await call("PUT", `${T}/music`, MP3, { "content-type": "audio/mpeg" });
    assert.equal(put.status, 200, put.raw);
    assert.equal(put.body.kind, "music");
    const got = await call("GET", `${T}/music`);
    assert.equal(got.headers["content-type"], "audio/wav");
    const before = (await call("GET", `${T}/announcements`)).body;
    const junk = await call("PUT", `${T}/music`, Buffer.from("this is not audio at all, not even close"), {
      "content-type": "application/octet-stream",
    });
    assertError(junk, 400, "bad_request");
    assert.deepEqual((await call("GET", `${T}/announcements`)).body, before, "the music is unchanged");
    assertError(
      await call("PUT", `${T}/music`, "hello", { "content-type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
    const big = await call("PUT", `${T}/music`, Buffer.alloc(COMPANY_AUDIO_MAX_BYTES + 1), {
      "content-type": "application/octet-stream",
    });
    assertError(big, 413, "payload_too_large");
    assertError(await call("GET", `${T}/announcements/goodbye`), 404, "not_found");
    assertError(
      await call("PUT", `${T}/announcements/music`, wav(), { "content-type": "audio/wav" }),
      404,
      "not_found",
    );
    assertError(await call("DELETE", `${T}/announcements/goodbye`), 404, "not_found");
    assertError(await call("GET", "/api/v1/tenants/ghost/announcements"), 404, "not_found");
    assertError(
      await call("PUT", "/api/v1/tenants/ghost/music", MP3, { "content-type": "audio/mpeg" }),
      404,
      "not_found",
    );
    assert.equal((await call("DELETE", `${T}/music`)).status, 204);
    assertError(await call("DELETE", `${T}/music`), 404, "not_found");
  });

  test("a deleted company's audio files go with it", async () => {
    assert.equal((await call("POST", "/api/v1/tenants", { name: "gone", domain: "gone.test" })).status, 201);
    const put = await call("PUT", "/api/v1/tenants/gone/music", MP3, { "content-type": "audio/mpeg" });
    assert.equal(put.status, 200, put.raw);
    assert.ok(existsSync(join(root, "company-audio", "gone", "music.wav")));
    assert.equal((await call("DELETE", "/api/v1/tenants/gone")).status, 204);
    assert.equal(existsSync(join(root, "company-audio", "gone")), false);
  });
});

describe("tenant settings of the company codes", () => {
  test("waitingSeconds and companyCodes; the PIN hashed, never shown", async () => {
    const r = await call("PATCH", T, {
      waitingSeconds: 45,
      companyCodes: { extensions: ["101", "102"], pin: "2580" },
    });
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.waitingSeconds, 45);
    assert.deepEqual(r.body.companyCodes, { extensions: ["101", "102"], pin: true });
    assert.doesNotMatch(r.raw, /2580|scrypt/);
    const stored = await store.tenants.get("acme");
    assert.ok(await verifyPin("2580", stored?.companyCodes.pinHash));
    const keep = await call("PATCH", T, { companyCodes: { extensions: ["103"] } });
    assert.deepEqual(
      keep.body.companyCodes,
      { extensions: ["103"], pin: true },
      "a missing key keeps the PIN",
    );
    const cleared = await call("PATCH", T, { companyCodes: { extensions: null, pin: null } });
    assert.deepEqual(cleared.body.companyCodes, { extensions: null, pin: false });
    assert.deepEqual((await store.tenants.get("acme"))?.companyCodes, {});
  });

  test("400 on unknown extensions, a bad PIN or waiting time; nothing changes", async () => {
    const before = (await call("GET", T)).body;
    const audited = await auditCount();
    assertBadRequest(
      await call("PATCH", T, { waitingSeconds: 60, companyCodes: { extensions: ["101", "109"] } }),
      /companyCodes\.extensions\[1\] 109 is not an extension of tenant acme/,
    );
    assertBadRequest(await call("PATCH", T, { companyCodes: { pin: "12" } }), /pin/);
    assertBadRequest(await call("PATCH", T, { companyCodes: { pin: "1234" } }), /too easy/);
    assertBadRequest(await call("PATCH", T, { waitingSeconds: 5 }), /waitingSeconds/);
    assertBadRequest(await call("PATCH", T, { waitingSeconds: 301 }), /waitingSeconds/);
    assert.deepEqual((await call("GET", T)).body, before);
    assert.equal(await auditCount(), audited);
  });
});

describe("openapi", () => {
  test("documents the new routes", async () => {
    const doc = (await call("GET", "/api/v1/openapi.json")).body;
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, o]) =>
      Object.keys(o).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const base = "/api/v1/tenants/{name}";
    for (const expected of [
      `POST ${base}/ring-groups`,
      `GET ${base}/ring-groups`,
      `GET ${base}/ring-groups/{group}`,
      `PATCH ${base}/ring-groups/{group}`,
      `DELETE ${base}/ring-groups/{group}`,
      `GET ${base}/schedule`,
      `PUT ${base}/schedule`,
      `GET ${base}/schedule/state`,
      `POST ${base}/schedule/next`,
      `DELETE ${base}/schedule/override`,
      `GET ${base}/callflow`,
      `PUT ${base}/callflow`,
      `POST ${base}/callflow/toggle`,
      `GET ${base}/announcements`,
      `GET ${base}/announcements/{kind}`,
      `PUT ${base}/announcements/{kind}`,
      `DELETE ${base}/announcements/{kind}`,
      `GET ${base}/music`,
      `PUT ${base}/music`,
      `DELETE ${base}/music`,
    ]) {
      assert.ok(ops.includes(expected), expected);
    }
    const upload = doc.paths[`${base}/announcements/{kind}`].put.requestBody.content;
    assert.deepEqual(Object.keys(upload).sort(), [
      "application/json",
      "application/octet-stream",
      "audio/mpeg",
      "audio/wav",
      "audio/x-wav",
    ]);
    assert.deepEqual(upload["application/json"].schema.required, ["text"]);
    const destination =
      doc.paths[`${base}/numbers`].post.requestBody.content["application/json"].schema.properties.destination;
    assert.ok(destination.properties.type.enum.includes("ring-group"));
    assert.ok(destination.properties.then.properties.then, "announcements nest");
    const tenant = doc.paths[base].get.responses["200"].content["application/json"].schema;
    assert.equal(tenant.properties.companyCodes.properties.pin.type, "boolean", "never the PIN");
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      (o) => Object.values(o).map((x) => x.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, "operation ids are unique");
  });
});
