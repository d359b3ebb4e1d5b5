// The console's live updates through a whole vpbx: server-sent events read
// over a real HTTP connection while harness phones register, dial *72, call
// each other and leave a voicemail, and the API changes the schedule and
// the trunks. Each stream hears what its principal may: the provider
// (admin token) the tenant it names and the trunks, a company's
// administrator (console session) its own company only, an extension's user
// its own extension and calls.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { concat, silence, speechLike } from "../harness/audio.ts";
import { Phones } from "../support/phones.ts";
import { untilQuietAfterSound } from "../support/prompt-end.ts";
import { SseClient } from "../support/sse-client.ts";
import { ADMIN_TOKEN, startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const PASSWORD = "Blue-Harbour-Lantern-Orbit-93";
const ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

let pbx: TestPbx;
const phones = new Phones(() => pbx.sip);
const streams: SseClient[] = [];
/** The provider, watching acme. */
let provider: SseClient;
/** globex's administrator (a console session). */
let globexAdmin: SseClient;
/** The user of acme's extension 102 (a console session). */
let bob: SseClient;

const url = (path: string) => `http://127.0.0.1:${pbx.vpbx.httpPort}${path}`;

function ok(res: { status: number; body: unknown }, what: string): void {
  assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A console user, logged in: its session cookie. */
async function login(username: string, user: Record<string, string>): Promise<string> {
  ok(await pbx.api("POST", "/api/v1/users", { username, password: PASSWORD, ...user }), `user ${username}`);
  const res = await fetch(url("/api/v1/session"), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(res.status, 200, `login ${username}`);
  const cookie = res.headers.get("set-cookie")?.split(";", 1)[0];
  if (!cookie?.startsWith("vpbx_session=")) assert.fail(`no session cookie for ${username}`);
  return cookie;
}

async function stream(path: string, headers: Record<string, string>): Promise<SseClient> {
  const s = await SseClient.open(url(path), headers);
  assert.equal(s.status, 200, `${path}: ${s.body}`);
  streams.push(s);
  return s;
}

before(async () => {
  pbx = await startTestPbx();
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102", "103"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
  await pbx.addTenant("globex", "globex.test");
  await pbx.addExtension("globex", "101", "secret-g101-pw");
  ok(await pbx.api("PATCH", "/api/v1/tenants/acme/features", { voicemail: true }), "voicemail on");
  ok(
    await pbx.api("PATCH", "/api/v1/tenants/acme/extensions/103", {
      voicemail: { enabled: true, pin: "4826" },
    }),
    "mailbox 103",
  );
  provider = await stream("/api/v1/events?tenant=acme", { authorization: `Bearer ${ADMIN_TOKEN}` });
  globexAdmin = await stream("/api/v1/events", {
    cookie: await login("globex-boss", { role: "admin", tenant: "globex" }),
  });
  bob = await stream("/api/v1/events", {
    cookie: await login("bob", { role: "user", tenant: "acme", extension: "102" }),
  });
});

afterEach(async () => {
  await phones.cleanup();
});

after(async () => {
  for (const s of streams) s.close();
  await pbx.stop();
});

describe("what the console hears", () => {
  test("a stream starts with retry: 3000", async () => {
    for (const s of [provider, globexAdmin, bob]) {
      await until(() => s.retry !== undefined);
      assert.equal(s.retry, 3000);
    }
  });

  test("a phone registers: registrations, to the provider and to that extension's user", async () => {
    const mark = { provider: provider.events.length, bob: bob.events.length };
    await phones.registered("101");
    await provider.waitForEvent(
      "registrations",
      { tenant: "acme", extension: "101" },
      { from: mark.provider },
    );
    await phones.registered("102");
    await bob.waitForEvent("registrations", { tenant: "acme", extension: "102" }, { from: mark.bob });
    await provider.waitForEvent(
      "registrations",
      { tenant: "acme", extension: "102" },
      { from: mark.provider },
    );
  });

  test("*72 on the phone: forwarding", async () => {
    const mark = provider.events.length;
    const alice = await phones.registered("101");
    const code = await alice.call("*72103");
    await code.waitFor("ended", 20000);
    await provider.waitForEvent("forwarding", { tenant: "acme", extension: "101" }, { from: mark });
    const rules = await pbx.api<{ unconditional?: string | null }>(
      "GET",
      "/api/v1/tenants/acme/extensions/101/forwarding",
    );
    assert.equal(rules.status, 200);
    const cancel = await alice.call("*73");
    await cancel.waitFor("ended", 20000);
  });

  test("the schedule through the API (a new schedule, then schedule/next): schedule", async () => {
    let mark = provider.events.length;
    ok(
      await pbx.api("PUT", "/api/v1/tenants/acme/schedule", {
        modes: { open: { destination: { type: "hangup" } }, closed: { destination: { type: "hangup" } } },
        default: "closed",
        weekly: [{ days: ALL_DAYS, from: "08:00", to: "18:00", mode: "open" }],
        exceptions: [],
      }),
      "schedule",
    );
    await provider.waitForEvent("schedule", { tenant: "acme" }, { from: mark });
    mark = provider.events.length;
    const next = await pbx.api<{ kind?: string }>("POST", "/api/v1/tenants/acme/schedule/next");
    ok(next, "schedule/next");
    await provider.waitForEvent("schedule", { tenant: "acme" }, { from: mark });
    mark = provider.events.length;
    ok(await pbx.api("POST", "/api/v1/tenants/acme/schedule/next"), "schedule/next again (cancels)");
    await provider.waitForEvent("schedule", { tenant: "acme" }, { from: mark });
  });

  test("a call between two phones: calls, to the provider and to the callee's user", async () => {
    const mark = { provider: provider.events.length, bob: bob.events.length };
    const { call } = await phones.answeredCall("101", "102");
    await provider.waitForEvent("calls", { tenant: "acme" }, { from: mark.provider });
    await bob.waitForEvent("calls", { tenant: "acme" }, { from: mark.bob });
    const again = provider.events.length;
    await call.bye();
    await provider.waitForEvent("calls", { tenant: "acme" }, { from: again });
  });

  test("a voicemail left for 103: voicemail", async () => {
    const mark = provider.events.length;
    const alice = await phones.registered("101");
    const call = await alice.call("103");
    await call.waitFor("answered", 10000);
    await untilQuietAfterSound(call);
    await call.playAudio(concat(speechLike(2500), silence(300)));
    await call.bye();
    await provider.waitForEvent(
      "voicemail",
      { tenant: "acme", extension: "103" },
      { from: mark, timeoutMs: 15000 },
    );
  });

  test("a trunk set to register: trunks, to the provider only", async () => {
    const mark = provider.events.length;
    ok(
      await pbx.api("POST", "/api/v1/trunks", {
        name: "carrier",
        host: "127.0.0.2",
        port: 5999,
        transport: "udp",
        register: true,
        username: "acme-account",
        password: "carrier-password",
      }),
      "trunk",
    );
    await provider.waitForEvent("trunks", {}, { from: mark });
    ok(await pbx.api("DELETE", "/api/v1/trunks/carrier"), "trunk deleted");
  });

  test("companies never hear each other; a user hears nothing of other extensions or of the schedule", async () => {
    const mark = provider.events.length;
    await phones.registered("101", { domain: "globex.test", password: "secret-g101-pw" });
    await globexAdmin.waitForEvent("registrations", { tenant: "globex", extension: "101" });
    for (const e of globexAdmin.events) {
      assert.equal(JSON.parse(e.data).tenant, "globex", `globex's administrator heard ${e.event} ${e.data}`);
    }
    assert.ok(!globexAdmin.events.some((e) => e.event === "trunks"), "trunks are the provider's");
    // Well after globex's phone registered: the provider watching acme heard nothing of it.
    ok(await pbx.api("POST", "/api/v1/tenants/acme/callflow/toggle"), "a marker");
    await provider.waitForEvent("schedule", { tenant: "acme" }, { from: mark });
    assert.ok(provider.events.every((e) => e.event === "trunks" || JSON.parse(e.data).tenant === "acme"));
    ok(await pbx.api("POST", "/api/v1/tenants/acme/callflow/toggle"), "back");

    for (const e of bob.events) {
      const data = JSON.parse(e.data) as { extension?: string };
      assert.ok(e.event === "calls" || data.extension === "102", `bob (102) heard ${e.event} ${e.data}`);
    }
  });

  test("a provider naming no tenant is refused only when the name is unknown; an admin may not name another", async () => {
    const unknown = await SseClient.open(url("/api/v1/events?tenant=nope"), {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    assert.equal(unknown.status, 400);
    const cookie = await login("globex-boss-2", { role: "admin", tenant: "globex" });
    const across = await SseClient.open(url("/api/v1/events?tenant=acme"), { cookie });
    assert.equal(across.status, 403);
    const nobody = await SseClient.open(url("/api/v1/events"));
    assert.equal(nobody.status, 401);
  });
});

test("the streams end when the PBX stops", async () => {
  const s = await stream("/api/v1/events", { authorization: `Bearer ${ADMIN_TOKEN}` });
  // The vpbx alone (after() stops it again, a no-op, and removes its data).
  const stopping = pbx.vpbx.stop();
  await s.waitForEnd(10_000);
  await stopping;
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
