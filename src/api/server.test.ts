import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { concat, silence, speechLike } from "../../test/harness/audio.ts";
import { readWav, writeWav } from "../media/codec/wav.ts";
import { convertAudio } from "../pbx/company/audio-conversion.ts";
import { CompanyAudioFiles } from "../pbx/company/company-audio.ts";
import { CompanyService } from "../pbx/company/company-service.ts";
import type { MailboxCounts } from "../pbx/voicemail/voicemail.ts";
import { VoicemailService } from "../pbx/voicemail/voicemail-service.ts";
import { makeCredentials } from "../store/credentials.ts";
import { openStore } from "../store/sql/open-store.ts";
import {
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  FEATURE_ACTIONS,
  type Store,
} from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import type {
  CallView,
  PbxView,
  RegistrationView,
  SubscriptionView,
  TrunkRegistrationView,
} from "./pbx-view.ts";
import { buildApi } from "./server.ts";

const TOKEN = "test-admin-token-0123456789";
const root = mkdtempSync(join(tmpdir(), "vpbx-api-"));
let store: Store;
let app: FastifyInstance;
const clock = new FakeClock(Date.UTC(2026, 2, 1, 9, 0, 0));
let voicemail: VoicemailService | undefined;
const published: { tenant: string; mailbox: string; counts: MailboxCounts }[] = [];
let ready = true;
const registrations = new Map<string, RegistrationView[]>();
const calls: CallView[] = [];
const trunkStates = new Map<string, TrunkRegistrationView>();
const subscriptionViews = new Map<string, SubscriptionView[]>();
const pbx: PbxView = {
  registrations: async (tenant) => registrations.get(tenant) ?? [],
  calls: () => calls,
  trunkRegistration: (name) => trunkStates.get(name),
  subscriptions: (tenant) => subscriptionViews.get(tenant) ?? [],
  voicemail: () => voicemail,
};

before(async () => {
  store = await openStore({ dataDir: root, clock });
  voicemail = new VoicemailService({
    store,
    dataDir: root,
    clock,
    log: silentLogger(),
    publishMailbox: (tenant, mailbox, counts) => published.push({ tenant, mailbox, counts }),
  });
  const audio = new CompanyAudioFiles({
    store,
    dataDir: root,
    log: silentLogger(),
    speak: async () => new Int16Array(8000),
    convert: convertAudio,
  });
  const company = new CompanyService({ store, clock, log: silentLogger(), audio });
  app = buildApi({
    store,
    pbx,
    company,
    verifyToken: (t) => t === TOKEN,
    log: silentLogger(),
    isReady: () => ready,
  });
  await app.ready();
});
after(async () => {
  await app.close();
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

/** What an extension whose mailbox was never configured shows. */
const MAILBOX_OFF = {
  enabled: false,
  hasPin: false,
  remoteAccess: false,
  skipPinOnOwnPhone: false,
  email: null,
  deleteAfterEmail: false,
  maxMessageSeconds: 180,
  remoteAccessLockedUntil: null,
};

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
async function call(
  method: Method,
  url: string,
  body?: unknown,
  token: string | null = TOKEN,
  from?: string,
) {
  const opts: InjectOptions = { method, url, headers: {}, ...(from ? { remoteAddress: from } : {}) };
  if (token !== null) opts.headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) opts.payload = body as InjectOptions["payload"];
  const res = await app.inject(opts);
  return {
    status: res.statusCode,
    body: res.body ? JSON.parse(res.body) : undefined,
    raw: res.body,
    headers: res.headers,
  };
}

function assertError(r: { status: number; body: unknown; raw: string }, status: number, code: string) {
  assert.equal(r.status, status, r.raw);
  const b = r.body as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(b), ["error"]);
  assert.equal(b.error.code, code);
  assert.equal(typeof b.error.message, "string");
  assert.ok(b.error.message.length > 0);
  assert.doesNotMatch(r.raw, /at .*\.ts:\d+/, "no stack trace");
}

describe("auth and health", () => {
  test("/health needs no token and follows isReady", async () => {
    const ok = await call("GET", "/health", undefined, null);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { status: "ok" });
    ready = false;
    try {
      const down = await call("GET", "/health", undefined, null);
      assert.equal(down.status, 503);
    } finally {
      ready = true;
    }
  });

  test("every /api/v1 route but the public ones (OpenAPI document, login) requires a token", async () => {
    const doc = (await call("GET", "/api/v1/openapi.json", undefined, null)).body;
    const urls: [Method, string][] = [];
    for (const [path, ops] of Object.entries(
      doc.paths as Record<string, Record<string, { "x-vpbx-access": string }>>,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        if (op["x-vpbx-access"] === "public") {
          assert.ok(
            ["/health", "/metrics", "/api/v1/openapi.json", "/api/v1/session"].includes(path),
            `${path} is public`,
          );
          continue;
        }
        urls.push([
          method.toUpperCase() as Method,
          path.replace("{name}", "acme").replace("{number}", "101").replace("{action}", "voicemail.access"),
        ]);
      }
    }
    assert.ok(urls.length >= 17);
    for (const [i, [method, url]] of urls.entries()) {
      // Each route from its own address: wrong tokens from one address are blocked after 10.
      const from = `198.51.100.${i + 1}`;
      for (const token of [null, "wrong-token", ""]) {
        const r = await call(
          method,
          url,
          method === "GET" || method === "DELETE" ? undefined : {},
          token,
          from,
        );
        assertError(r, 401, "unauthorized");
      }
    }
    const r = await app.inject({
      method: "GET",
      url: "/api/v1/tenants",
      headers: { authorization: `Basic ${TOKEN}` },
    });
    assert.equal(r.statusCode, 401);
    assert.match(String(r.headers["www-authenticate"]), /^Bearer/);
    const lower = await app.inject({
      method: "GET",
      url: "/api/v1/tenants",
      headers: { authorization: `bearer ${TOKEN}` },
    });
    assert.equal(lower.statusCode, 200);
  });
});

describe("tenants", () => {
  test("create, get, list, patch, delete", async () => {
    const created = await call("POST", "/api/v1/tenants", { name: "acme", domain: "Acme.Test" });
    assert.equal(created.status, 201, created.raw);
    assert.deepEqual(created.body, {
      name: "acme",
      domain: "acme.test",
      language: "fr",
      timezone: "Europe/Zurich",
      country: "CH",
      features: DEFAULT_FEATURES,
      policy: DEFAULT_DIALLING_POLICY,
      trunk: null,
      operator: null,
      waitingSeconds: 30,
      companyCodes: { extensions: null, pin: false },
      maxCalls: 20,
      requireEncryption: false,
      createdAt: "2026-03-01T09:00:00.000Z",
    });
    const other = await call("POST", "/api/v1/tenants", {
      name: "bistro-2",
      domain: "bistro.example.ch",
      language: "de",
      timezone: "Europe/Berlin",
      country: "DE",
    });
    assert.equal(other.status, 201, other.raw);
    assert.deepEqual(
      (await call("GET", "/api/v1/tenants")).body.map((t: { name: string }) => t.name),
      ["acme", "bistro-2"],
    );
    assert.equal((await call("GET", "/api/v1/tenants/bistro-2")).body.language, "de");
    const patched = await call("PATCH", "/api/v1/tenants/bistro-2", {
      language: "it",
      timezone: "Europe/Rome",
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.equal(patched.body.language, "it");
    assert.equal(patched.body.timezone, "Europe/Rome");
    assert.equal(patched.body.domain, "bistro.example.ch");
    const del = await call("DELETE", "/api/v1/tenants/bistro-2");
    assert.equal(del.status, 204);
    assert.equal(del.raw, "");
    assertError(await call("GET", "/api/v1/tenants/bistro-2"), 404, "not_found");
    assertError(await call("DELETE", "/api/v1/tenants/bistro-2"), 404, "not_found");
    assertError(await call("PATCH", "/api/v1/tenants/bistro-2", { language: "fr" }), 404, "not_found");
  });

  test("maxCalls: the company's cap of simultaneous calls, 1 to 10000, shown and audited", async () => {
    await call("POST", "/api/v1/tenants", { name: "capped", domain: "capped.test" });
    assert.equal((await call("GET", "/api/v1/tenants/capped")).body.maxCalls, 20, "the default");
    const patched = await call("PATCH", "/api/v1/tenants/capped", { maxCalls: 40 });
    assert.equal(patched.status, 200, patched.raw);
    assert.equal(patched.body.maxCalls, 40);
    assert.equal((await call("GET", "/api/v1/tenants/capped")).body.maxCalls, 40);
    assert.equal((await store.tenants.get("capped"))?.maxCalls, 40);
    const [event] = await store.audit.list("capped", { limit: 1 });
    assert.deepEqual(
      { actor: event.actor, subject: event.subject, old: event.old, new: event.new },
      { actor: { kind: "api", id: "admin" }, subject: "maxCalls", old: 20, new: 40 },
    );
    for (const bad of [0, 10001, 2.5, "40", null, -1]) {
      const r = await call("PATCH", "/api/v1/tenants/capped", { maxCalls: bad });
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, /maxCalls/, String(bad));
    }
    assert.equal((await store.tenants.get("capped"))?.maxCalls, 40, "a refused change changes nothing");
    assert.equal((await call("PATCH", "/api/v1/tenants/capped", { maxCalls: 10000 })).body.maxCalls, 10000);
    assert.equal((await call("PATCH", "/api/v1/tenants/capped", { maxCalls: 1 })).body.maxCalls, 1);
    await call("DELETE", "/api/v1/tenants/capped");
  });

  test("409 on a taken name or domain", async () => {
    assertError(await call("POST", "/api/v1/tenants", { name: "acme", domain: "new.test" }), 409, "conflict");
    assertError(
      await call("POST", "/api/v1/tenants", { name: "acme2", domain: "ACME.test" }),
      409,
      "conflict",
    );
    await call("POST", "/api/v1/tenants", { name: "zeta", domain: "zeta.test" });
    assertError(await call("PATCH", "/api/v1/tenants/zeta", { domain: "acme.test" }), 409, "conflict");
    await call("DELETE", "/api/v1/tenants/zeta");
  });

  test("400 on bad payloads, naming the problem", async () => {
    const bad: [unknown, RegExp][] = [
      [{ name: "Acme", domain: "a.test" }, /name/],
      [{ name: "-acme", domain: "a.test" }, /name/],
      [{ name: "a".repeat(64), domain: "a.test" }, /name/],
      [{ name: "ok", domain: "not a host" }, /domain/],
      [{ name: "ok", domain: "-bad.test" }, /domain/],
      [{ name: "ok" }, /domain/],
      [{ name: "ok", domain: "a.test", language: "es" }, /language/],
      [{ name: "ok", domain: "a.test", timezone: "Mars/Olympus" }, /timezone .*IANA/],
      [{ name: "ok", domain: "a.test", country: "XX" }, /country/],
      [{ name: "ok", domain: "a.test", country: "ch" }, /country/],
      [{ name: "ok", domain: "a.test", extra: 1 }, /additional|unknown/],
      [{ name: 5, domain: "a.test" }, /name/],
      ["not json {", /JSON|json/],
      [[], /object/],
    ];
    for (const [body, message] of bad) {
      const r =
        typeof body === "string"
          ? await app
              .inject({
                method: "POST",
                url: "/api/v1/tenants",
                payload: body,
                headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
              })
              .then((res) => ({ status: res.statusCode, body: JSON.parse(res.body), raw: res.body }))
          : await call("POST", "/api/v1/tenants", body);
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, message, JSON.stringify(body));
    }
    const unknownField = await call("PATCH", "/api/v1/tenants/acme", { name: "renamed" });
    assertError(unknownField, 400, "bad_request");
    assert.match(unknownField.body.error.message, /unknown field "name"/);
    const missing = await call("POST", "/api/v1/tenants", {});
    assert.equal(missing.body.error.message, "body.name is required; body.domain is required");
    const text = await app.inject({
      method: "POST",
      url: "/api/v1/tenants",
      payload: "name=acme",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" },
    });
    assertError(
      { status: text.statusCode, body: JSON.parse(text.body), raw: text.body },
      415,
      "unsupported_media_type",
    );
    assertError(await call("GET", "/api/v1/tenants/NOT_A_SLUG"), 400, "bad_request");
    assert.equal((await call("GET", "/api/v1/tenants")).body.length, 1, "nothing was created");
  });

  test("unknown routes answer 404 in the error shape; unknown API paths only to the authenticated", async () => {
    assertError(await call("GET", "/api/v1/nothing-here"), 404, "not_found");
    assertError(await call("GET", "/api/v1/nothing-here", undefined, null), 401, "unauthorized");
    assertError(await call("POST", "/nothing", {}), 404, "not_found");
    // Outside /api/ nothing asks for a token (the console's files are public).
    assertError(await call("POST", "/nothing", {}, null), 404, "not_found");
  });
});

describe("extensions", () => {
  test("create, get, list, patch, delete; never a password or hash in a response", async () => {
    const created = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "101",
      password: "correct-horse-101",
      displayName: "Alice Muster",
    });
    assert.equal(created.status, 201, created.raw);
    assert.deepEqual(created.body, {
      number: "101",
      displayName: "Alice Muster",
      language: null,
      ringTimeoutSeconds: 30,
      noAnswerSeconds: 20,
      callWaiting: false,
      maxCalls: 2,
      callerId: null,
      mwiUnsolicited: false,
      pickupGroup: null,
      voicemail: MAILBOX_OFF,
      createdAt: "2026-03-01T09:00:00.000Z",
    });
    const stored = await store.extensions.get("acme", "101");
    assert.deepEqual(stored?.credentials, makeCredentials("101", "acme.test", "correct-horse-101"));

    const second = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "102",
      password: "another-secret",
      displayName: "Bob",
      language: "de",
      ringTimeoutSeconds: 20,
    });
    assert.equal(second.status, 201, second.raw);
    assert.equal(second.body.language, "de");
    const list = await call("GET", "/api/v1/tenants/acme/extensions");
    assert.deepEqual(
      list.body.map((e: { number: string }) => e.number),
      ["101", "102"],
    );
    assert.equal((await call("GET", "/api/v1/tenants/acme/extensions/102")).body.displayName, "Bob");

    const patched = await call("PATCH", "/api/v1/tenants/acme/extensions/102", {
      displayName: "Bob B.",
      language: null,
      ringTimeoutSeconds: 60,
      password: "a-new-password",
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.deepEqual(
      { ...patched.body, createdAt: undefined },
      {
        number: "102",
        displayName: "Bob B.",
        language: null,
        ringTimeoutSeconds: 60,
        noAnswerSeconds: 20,
        callWaiting: false,
        maxCalls: 2,
        callerId: null,
        mwiUnsolicited: false,
        pickupGroup: null,
        voicemail: MAILBOX_OFF,
        createdAt: undefined,
      },
    );
    assert.deepEqual(
      (await store.extensions.get("acme", "102"))?.credentials,
      makeCredentials("102", "acme.test", "a-new-password"),
    );

    for (const r of [created, second, list, patched]) {
      assert.doesNotMatch(r.raw, /password|ha1|correct-horse|another-secret|a-new-password|realm/i);
    }
    assert.equal((await call("DELETE", "/api/v1/tenants/acme/extensions/102")).status, 204);
    assertError(await call("GET", "/api/v1/tenants/acme/extensions/102"), 404, "not_found");
    assertError(await call("DELETE", "/api/v1/tenants/acme/extensions/102"), 404, "not_found");
    assertError(
      await call("PATCH", "/api/v1/tenants/acme/extensions/102", { displayName: "x" }),
      404,
      "not_found",
    );
  });

  test("a domain change keeps old digests; a new password takes the new realm", async () => {
    await call("POST", "/api/v1/tenants", { name: "moving", domain: "old.test" });
    await call("POST", "/api/v1/tenants/moving/extensions", {
      number: "10",
      password: "secret-10-pw",
      displayName: "M",
    });
    const p = await call("PATCH", "/api/v1/tenants/moving", { domain: "new.test" });
    assert.equal(p.body.domain, "new.test");
    assert.equal((await store.extensions.get("moving", "10"))?.credentials.realm, "old.test");
    await call("PATCH", "/api/v1/tenants/moving/extensions/10", { password: "fresh-secret-10-pw" });
    assert.deepEqual(
      (await store.extensions.get("moving", "10"))?.credentials,
      makeCredentials("10", "new.test", "fresh-secret-10-pw"),
    );
    await call("DELETE", "/api/v1/tenants/moving");
  });

  test("409 on a duplicate number, 404 on an unknown tenant", async () => {
    const dup = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "101",
      password: "whatever-secret-pw",
      displayName: "Dup",
    });
    assertError(dup, 409, "conflict");
    assertError(
      await call("POST", "/api/v1/tenants/ghost/extensions", {
        number: "101",
        password: "whatever-secret-pw",
        displayName: "X",
      }),
      404,
      "not_found",
    );
    assertError(await call("GET", "/api/v1/tenants/ghost/extensions"), 404, "not_found");
  });

  test("400 on bad payloads; weak passwords refused", async () => {
    const base = { number: "103", password: "good-secret-103-pw", displayName: "Carol" };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...base, number: "1" }, /number/],
      [{ ...base, number: "1234567" }, /number/],
      [{ ...base, number: 103 }, /number/],
      [{ ...base, password: "short" }, /password/],
      [{ ...base, number: "10", password: "1010101010" }, /password/],
      [{ ...base, number: "123456", password: "123456123456" }, /password/],
      [{ ...base, number: "1234", password: "12341234" }, /password/],
      [{ ...base, displayName: "x".repeat(65) }, /displayName|display name/],
      [{ ...base, displayName: "Evil\r\nVia: x" }, /displayName|display name/],
      [{ ...base, language: "es" }, /language/],
      [{ ...base, ringTimeoutSeconds: 4 }, /ringTimeoutSeconds/],
      [{ ...base, ringTimeoutSeconds: 301 }, /ringTimeoutSeconds/],
      [{ ...base, ringTimeoutSeconds: "30" }, /ringTimeoutSeconds/],
      [{ ...base, pin: "1234" }, /additional|unknown/],
      [{ number: "103", displayName: "Carol" }, /password/],
    ];
    for (const [body, message] of bad) {
      const r = await call("POST", "/api/v1/tenants/acme/extensions", body);
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, message, JSON.stringify(body));
      assert.doesNotMatch(r.raw, /good-secret-103-pw|12341234/, "a password is never echoed");
    }
    assertError(
      await call("PATCH", "/api/v1/tenants/acme/extensions/101", { password: "101101101" }),
      400,
      "bad_request",
    );
  });

  test("passwords on create and change: too common or too guessable is refused with the reason", async () => {
    const before = await store.extensions.get("acme", "101");
    const cases: [string, RegExp][] = [
      ["password123", /^password: too common/],
      ["Qwertyuiop1", /^password: too common/],
      ["aaaaaaaaaaaa", /^password: too guessable: repeated characters/],
      ["password-110", /^password: too guessable: it is similar to a commonly used password/],
      ["acme.test-101", /^password: too guessable: .*company's name or domain/],
    ];
    for (const [password, reason] of cases) {
      const created = await call("POST", "/api/v1/tenants/acme/extensions", {
        number: "106",
        password,
        displayName: "Frank",
      });
      assertError(created, 400, "bad_request");
      assert.match(created.body.error.message, reason, password);
      assert.ok(!created.raw.includes(password), "a password is never echoed");
      const changed = await call("PATCH", "/api/v1/tenants/acme/extensions/101", { password });
      assertError(changed, 400, "bad_request");
      assert.match(changed.body.error.message, reason, password);
    }
    assert.equal(await store.extensions.get("acme", "106"), undefined, "nothing created");
    assert.deepEqual(
      (await store.extensions.get("acme", "101"))?.credentials,
      before?.credentials,
      "nothing changed",
    );
    const ok = await call("PATCH", "/api/v1/tenants/acme/extensions/101", { password: "Lantern-Otter-58" });
    assert.equal(ok.status, 200, ok.raw);
    assertError(
      await call("PATCH", "/api/v1/tenants/acme/extensions/101", { number: "105" }),
      400,
      "bad_request",
    );
    assertError(await call("GET", "/api/v1/tenants/acme/extensions/abc"), 400, "bad_request");
    assert.equal(await store.extensions.get("acme", "103"), undefined);
  });
});

describe("features and feature codes", () => {
  test("features default all false; patch switches some", async () => {
    const r = await call("GET", "/api/v1/tenants/acme/features");
    assert.deepEqual(r.body, {
      voicemail: false,
      voicemailRemoteAccess: false,
      schedules: false,
      callFlowControl: false,
      announcements: false,
    });
    const p = await call("PATCH", "/api/v1/tenants/acme/features", { voicemail: true, announcements: true });
    assert.equal(p.status, 200, p.raw);
    assert.deepEqual(p.body, { ...DEFAULT_FEATURES, voicemail: true, announcements: true });
    assert.deepEqual((await call("GET", "/api/v1/tenants/acme")).body.features, p.body);
    assertError(
      await call("PATCH", "/api/v1/tenants/acme/features", { voicemail: "yes" }),
      400,
      "bad_request",
    );
    assertError(await call("PATCH", "/api/v1/tenants/acme/features", { fax: true }), 400, "bad_request");
    assertError(await call("GET", "/api/v1/tenants/ghost/features"), 404, "not_found");
    assertError(await call("PATCH", "/api/v1/tenants/ghost/features", { voicemail: true }), 404, "not_found");
  });

  test("feature codes: list, change, clash, reset", async () => {
    assert.deepEqual((await call("GET", "/api/v1/tenants/acme/feature-codes")).body, DEFAULT_FEATURE_CODES);
    const put = await call("PUT", "/api/v1/tenants/acme/feature-codes/voicemail.access", { code: "*98" });
    assert.equal(put.status, 200, put.raw);
    assert.equal(put.body.find((c: { action: string }) => c.action === "voicemail.access").code, "*98");
    assert.equal(put.body.length, FEATURE_ACTIONS.length);
    const clash = await call("PUT", "/api/v1/tenants/acme/feature-codes/schedule.next", { code: "*7" });
    assertError(clash, 409, "conflict");
    assert.match(clash.body.error.message, /prefix/);
    assertError(
      await call("PUT", "/api/v1/tenants/acme/feature-codes/schedule.next", { code: "*72" }),
      409,
      "conflict",
    );
    assertError(
      await call("PUT", "/api/v1/tenants/acme/feature-codes/schedule.next", { code: "72" }),
      400,
      "bad_request",
    );
    assertError(
      await call("PUT", "/api/v1/tenants/acme/feature-codes/no.such", { code: "*55" }),
      400,
      "bad_request",
    );
    assertError(
      await call("PUT", "/api/v1/tenants/ghost/feature-codes/schedule.next", { code: "*55" }),
      404,
      "not_found",
    );
    assert.equal((await call("DELETE", "/api/v1/tenants/acme/feature-codes")).status, 204);
    assert.deepEqual((await call("GET", "/api/v1/tenants/acme/feature-codes")).body, DEFAULT_FEATURE_CODES);
  });
});

describe("extension settings", () => {
  test("call waiting, max calls, no-answer time and caller id: create, patch, shown; bad ones refused", async () => {
    const created = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "110",
      password: "secret-110-pw",
      displayName: "Reception",
      callWaiting: true,
      maxCalls: 4,
      noAnswerSeconds: 15,
      callerId: "021 555 01 10",
    });
    assert.equal(created.status, 201, created.raw);
    assert.deepEqual(
      [created.body.callWaiting, created.body.maxCalls, created.body.noAnswerSeconds, created.body.callerId],
      [true, 4, 15, "+41215550110"],
      "a national caller id is read in the tenant's country and stored in E.164",
    );
    const patched = await call("PATCH", "/api/v1/tenants/acme/extensions/110", {
      callWaiting: false,
      callerId: null,
    });
    assert.equal(patched.status, 200, patched.raw);
    assert.equal(patched.body.callWaiting, false);
    assert.equal(patched.body.callerId, null);
    assert.equal(patched.body.maxCalls, 4, "kept");
    assert.equal((await store.extensions.get("acme", "110"))?.callerId, undefined);
    const e164 = await call("PATCH", "/api/v1/tenants/acme/extensions/110", { callerId: "+41 21 555 01 11" });
    assert.equal(e164.body.callerId, "+41215550111");
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ maxCalls: 0 }, /maxCalls/],
      [{ maxCalls: 11 }, /maxCalls/],
      [{ noAnswerSeconds: 4 }, /noAnswerSeconds/],
      [{ noAnswerSeconds: 301 }, /noAnswerSeconds/],
      [{ callWaiting: "yes" }, /callWaiting/],
      [{ callerId: "12345" }, /callerId "12345" must be a public phone number/],
      [{ callerId: "+41 21 abc" }, /callerId/],
    ];
    for (const [body, message] of bad) {
      const r = await call("PATCH", "/api/v1/tenants/acme/extensions/110", body);
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, message, JSON.stringify(body));
    }
    assertError(
      await call("POST", "/api/v1/tenants/acme/extensions", {
        number: "111",
        password: "secret-111-pw",
        displayName: "X",
        callerId: null,
      }),
      400,
      "bad_request",
    );
    assert.equal((await store.extensions.get("acme", "110"))?.callerId, "+41215550111", "unchanged");
    assert.equal(await store.extensions.get("acme", "111"), undefined);
    await call("DELETE", "/api/v1/tenants/acme/extensions/110");
  });

  test("unsolicited message waiting: off by default, set on create and by a patch, a boolean only", async () => {
    const created = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "112",
      password: "secret-112-pw",
      displayName: "Door phone",
      mwiUnsolicited: true,
    });
    assert.equal(created.status, 201, created.raw);
    assert.equal(created.body.mwiUnsolicited, true);
    assert.equal((await store.extensions.get("acme", "112"))?.mwiUnsolicited, true);
    const off = await call("PATCH", "/api/v1/tenants/acme/extensions/112", { mwiUnsolicited: false });
    assert.equal(off.status, 200, off.raw);
    assert.equal(off.body.mwiUnsolicited, false);
    assert.equal((await store.extensions.get("acme", "112"))?.mwiUnsolicited, false);
    const bad = await call("PATCH", "/api/v1/tenants/acme/extensions/112", { mwiUnsolicited: "yes" });
    assertError(bad, 400, "bad_request");
    assert.match(bad.body.error.message, /mwiUnsolicited/);
    assert.equal((await store.extensions.get("acme", "112"))?.mwiUnsolicited, false, "unchanged");
    await call("DELETE", "/api/v1/tenants/acme/extensions/112");
  });

  test("pickup group: the default (null) unless set, set on create and by a patch, null clears, bad names refused", async () => {
    const plain = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "113",
      password: "secret-113-pw",
      displayName: "Plain",
    });
    assert.equal(plain.status, 201, plain.raw);
    assert.equal(plain.body.pickupGroup, null);
    const created = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "114",
      password: "secret-114-pw",
      displayName: "Sales desk",
      pickupGroup: "sales",
    });
    assert.equal(created.status, 201, created.raw);
    assert.equal(created.body.pickupGroup, "sales");
    assert.equal((await store.extensions.get("acme", "114"))?.pickupGroup, "sales");
    assert.equal((await call("GET", "/api/v1/tenants/acme/extensions/114")).body.pickupGroup, "sales");
    const listed = await call("GET", "/api/v1/tenants/acme/extensions");
    assert.deepEqual(
      listed.body
        .filter((e: { number: string }) => ["113", "114"].includes(e.number))
        .map((e: { pickupGroup: unknown }) => e.pickupGroup),
      [null, "sales"],
    );

    const moved = await call("PATCH", "/api/v1/tenants/acme/extensions/113", { pickupGroup: "floor-2" });
    assert.equal(moved.status, 200, moved.raw);
    assert.equal(moved.body.pickupGroup, "floor-2");
    const renamed = await call("PATCH", "/api/v1/tenants/acme/extensions/113", { displayName: "Renamed" });
    assert.equal(renamed.body.pickupGroup, "floor-2", "a patch without it keeps the group");
    const cleared = await call("PATCH", "/api/v1/tenants/acme/extensions/113", { pickupGroup: null });
    assert.equal(cleared.status, 200, cleared.raw);
    assert.equal(cleared.body.pickupGroup, null);
    assert.equal((await store.extensions.get("acme", "113"))?.pickupGroup, undefined);

    for (const bad of ["Sales", "", "a".repeat(33), "sales team", "ventes/2", 7]) {
      const res = await call("PATCH", "/api/v1/tenants/acme/extensions/114", { pickupGroup: bad });
      assertError(res, 400, "bad_request");
      assert.match(res.body.error.message, /pickupGroup/);
    }
    assert.equal((await store.extensions.get("acme", "114"))?.pickupGroup, "sales", "unchanged");
    assertError(
      await call("POST", "/api/v1/tenants/acme/extensions", {
        number: "115",
        password: "secret-115-pw",
        displayName: "X",
        pickupGroup: null,
      }),
      400,
      "bad_request",
    );
    assert.equal(await store.extensions.get("acme", "115"), undefined);
    assert.equal(
      (await call("PATCH", "/api/v1/tenants/acme/extensions/114", { pickupGroup: "a".repeat(32) })).body
        .pickupGroup,
      "a".repeat(32),
    );
    await call("DELETE", "/api/v1/tenants/acme/extensions/113");
    await call("DELETE", "/api/v1/tenants/acme/extensions/114");
  });
});

describe("trunks", () => {
  const carrier = {
    name: "carrier",
    host: "sip.carrier.example",
    port: 5060,
    transport: "udp",
    username: "acme-trunk",
    password: "carrier-secret-pw",
    register: true,
    numberFormat: "national",
    inboundAddresses: ["203.0.113.7"],
  };

  test("create, list, get, patch, delete; never the password; registration from the PBX", async () => {
    const created = await call("POST", "/api/v1/trunks", carrier);
    assert.equal(created.status, 201, created.raw);
    assert.deepEqual(created.body, {
      name: "carrier",
      host: "sip.carrier.example",
      port: 5060,
      transport: "udp",
      username: "acme-trunk",
      hasPassword: true,
      register: true,
      numberFormat: "national",
      inboundAddresses: ["203.0.113.7"],
      isDefault: true,
      createdAt: "2026-03-01T09:00:00.000Z",
      registration: null,
    });
    assert.equal((await store.trunks.get("carrier"))?.password, "carrier-secret-pw", "kept for the digest");
    const backup = await call("POST", "/api/v1/trunks", {
      name: "backup",
      host: "192.0.2.50",
      transport: "tcp",
    });
    assert.equal(backup.status, 201, backup.raw);
    assert.deepEqual(
      [backup.body.port, backup.body.isDefault, backup.body.hasPassword, backup.body.username],
      [5060, false, false, null],
    );
    assert.deepEqual(backup.body.registration, { state: "disabled" }, "a trunk that does not register");

    trunkStates.set("carrier", {
      state: "registered",
      expiresAt: "2026-03-01T09:10:00.000Z",
      lastStatus: 200,
    });
    const list = await call("GET", "/api/v1/trunks");
    assert.deepEqual(
      list.body.map((t: { name: string; isDefault: boolean }) => [t.name, t.isDefault]),
      [
        ["carrier", true],
        ["backup", false],
      ],
    );
    assert.deepEqual(list.body[0].registration, {
      state: "registered",
      expiresAt: "2026-03-01T09:10:00.000Z",
      lastStatus: 200,
    });
    const one = await call("GET", "/api/v1/trunks/carrier");
    assert.equal(one.body.registration.state, "registered");

    const moved = await call("PATCH", "/api/v1/trunks/backup", { isDefault: true, port: 5080 });
    assert.equal(moved.status, 200, moved.raw);
    assert.deepEqual([moved.body.isDefault, moved.body.port], [true, 5080]);
    assert.equal((await call("GET", "/api/v1/trunks/carrier")).body.isDefault, false);
    assertError(await call("PATCH", "/api/v1/trunks/backup", { isDefault: false }), 409, "conflict");
    const noAuth = await call("PATCH", "/api/v1/trunks/carrier", {
      register: false,
      username: null,
      password: null,
    });
    assert.equal(noAuth.status, 200, noAuth.raw);
    assert.deepEqual([noAuth.body.hasPassword, noAuth.body.username], [false, null]);
    const again = await call("PATCH", "/api/v1/trunks/carrier", {
      username: "acme-trunk",
      password: "another-secret-pw",
      register: true,
    });
    assert.equal(again.body.hasPassword, true);
    for (const r of [created, list, one, moved, noAuth, again]) {
      assert.doesNotMatch(r.raw, /secret-pw|"password"/);
    }
    trunkStates.clear();

    // A tenant names a trunk; the trunk cannot go while it does.
    const named = await call("PATCH", "/api/v1/tenants/acme", { trunk: "carrier" });
    assert.equal(named.status, 200, named.raw);
    assert.equal(named.body.trunk, "carrier");
    assert.equal((await call("GET", "/api/v1/tenants/acme")).body.trunk, "carrier");
    const busy = await call("DELETE", "/api/v1/trunks/carrier");
    assertError(busy, 409, "conflict");
    assert.match(busy.body.error.message, /used by tenant acme/);
    assertError(await call("PATCH", "/api/v1/tenants/acme", { trunk: "nope" }), 409, "conflict");
    assertError(await call("PATCH", "/api/v1/tenants/acme", { trunk: "Not A Slug" }), 400, "bad_request");
    assert.equal((await call("PATCH", "/api/v1/tenants/acme", { trunk: null })).body.trunk, null);
    assert.equal((await call("DELETE", "/api/v1/trunks/carrier")).status, 204);
    assertError(await call("GET", "/api/v1/trunks/carrier"), 404, "not_found");
    assertError(await call("DELETE", "/api/v1/trunks/carrier"), 404, "not_found");
    assertError(await call("PATCH", "/api/v1/trunks/carrier", { port: 5061 }), 404, "not_found");
    assertError(await call("POST", "/api/v1/trunks", { name: "backup", host: "x.example" }), 409, "conflict");
  });

  test("400 on bad trunks, naming the problem; nothing created", async () => {
    const base = { name: "t2", host: "sip.example.net" };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...base, name: "T2" }, /name/],
      [{ ...base, host: "not a host" }, /host/],
      [{ ...base, host: "-bad.example" }, /host/],
      [{ ...base, port: 0 }, /port/],
      [{ ...base, port: 65536 }, /port/],
      [{ ...base, port: "5060" }, /port/],
      [{ ...base, transport: "sctp" }, /transport/],
      [{ ...base, numberFormat: "local" }, /numberFormat/],
      [{ ...base, inboundAddresses: ["carrier.example"] }, /inboundAddresses/],
      [{ ...base, inboundAddresses: "203.0.113.7" }, /inboundAddresses/],
      [{ ...base, username: "a b", password: "pw" }, /username/],
      [{ ...base, username: "user" }, /username and password go together/],
      [{ ...base, register: true }, /register needs a username and a password/],
      [{ ...base, password: "bad\r\npw", username: "u" }, /password/],
      [{ ...base, isDefault: "yes" }, /isDefault/],
      [{ ...base, secret: "x" }, /unknown/],
      [{ name: "t2" }, /host/],
    ];
    for (const [body, message] of bad) {
      const r = await call("POST", "/api/v1/trunks", body);
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, message, JSON.stringify(body));
      assert.doesNotMatch(r.raw, /bad\\r/, "a password is never echoed");
    }
    assert.equal(await store.trunks.get("t2"), undefined);
    const v6 = await call("POST", "/api/v1/trunks", {
      name: "t6",
      host: "2001:db8::5",
      inboundAddresses: ["2001:db8::6"],
    });
    assert.equal(v6.status, 201, v6.raw);
    const upper = await call("PATCH", "/api/v1/trunks/t6", { host: "SIP.Example.NET" });
    assert.equal(upper.body.host, "sip.example.net");
    assertError(await call("PATCH", "/api/v1/trunks/t6", { register: true }), 400, "bad_request");
    assertError(await call("PATCH", "/api/v1/trunks/t6", { name: "t7" }), 400, "bad_request");
    assertError(await call("GET", "/api/v1/trunks/NOT_A_SLUG"), 400, "bad_request");
    assert.equal((await call("DELETE", "/api/v1/trunks/t6")).status, 204);
  });
});

describe("numbers", () => {
  test("add (national or E.164), list in order, delete; destinations checked; 409 across tenants", async () => {
    const main = await call("POST", "/api/v1/tenants/acme/numbers", {
      number: "021 555 01 00",
      destination: { type: "extension", number: "101" },
    });
    assert.equal(main.status, 201, main.raw);
    assert.deepEqual(main.body, {
      number: "+41215550100",
      destination: { type: "extension", number: "101" },
      createdAt: "2026-03-01T09:00:00.000Z",
    });
    const ext = await call("POST", "/api/v1/tenants/acme/numbers", {
      number: "+41215550199",
      destination: { type: "external", number: "079 123 12 12" },
    });
    assert.equal(ext.status, 201, ext.raw);
    assert.deepEqual(ext.body.destination, { type: "external", number: "+41791231212" });
    const hangup = await call("POST", "/api/v1/tenants/acme/numbers", {
      number: "0041 21 555 01 98",
      destination: { type: "hangup" },
    });
    assert.equal(hangup.status, 201, hangup.raw);
    assert.equal(hangup.body.number, "+41215550198");
    assert.deepEqual(
      (await call("GET", "/api/v1/tenants/acme/numbers")).body.map((n: { number: string }) => n.number),
      ["+41215550100", "+41215550199", "+41215550198"],
      "main number first",
    );

    await call("POST", "/api/v1/tenants", { name: "other", domain: "other.test" });
    const taken = await call("POST", "/api/v1/tenants/other/numbers", {
      number: "+41 21 555 01 00",
      destination: { type: "hangup" },
    });
    assertError(taken, 409, "conflict");
    assert.match(taken.body.error.message, /\+41215550100 already belongs/);

    const bad: [Record<string, unknown>, RegExp][] = [
      [{ number: "12345", destination: { type: "hangup" } }, /number "12345" must be a public phone number/],
      [{ number: "021 555 01 00 ext 5", destination: { type: "hangup" } }, /number/],
      [
        { number: "+41215550150", destination: { type: "extension", number: "555" } },
        /extension 555 does not exist/,
      ],
      [
        { number: "+41215550150", destination: { type: "extension" } },
        /destination\.number is required for type extension/,
      ],
      [
        { number: "+41215550150", destination: { type: "external", number: "999" } },
        /destination\.number "999" must be a public phone number/,
      ],
      [{ number: "+41215550150", destination: { type: "voicemail" } }, /destination\.number is required/],
      [
        { number: "+41215550150", destination: { type: "ringgroup", number: "1" } },
        /destination\.type|allowed values/,
      ],
      [{ number: "+41215550150", destination: { type: "hangup", number: "101" } }, /unknown field "number"/],
      [{ number: "+41215550150" }, /destination/],
      [{ destination: { type: "hangup" } }, /number/],
    ];
    for (const [body, message] of bad) {
      const r = await call("POST", "/api/v1/tenants/acme/numbers", body);
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, message, JSON.stringify(body));
    }
    assert.equal(await store.numbers.find("+41215550150"), undefined, "nothing added");
    assertError(
      await call("POST", "/api/v1/tenants/ghost/numbers", {
        number: "+41215550150",
        destination: { type: "hangup" },
      }),
      404,
      "not_found",
    );
    assertError(await call("GET", "/api/v1/tenants/ghost/numbers"), 404, "not_found");

    assertError(await call("DELETE", "/api/v1/tenants/other/numbers/%2B41215550100"), 404, "not_found");
    assert.equal((await call("DELETE", "/api/v1/tenants/acme/numbers/%2B41215550198")).status, 204);
    assertError(await call("DELETE", "/api/v1/tenants/acme/numbers/%2B41215550198"), 404, "not_found");
    assertError(await call("DELETE", "/api/v1/tenants/acme/numbers/0215550100"), 400, "bad_request");
    await call("DELETE", "/api/v1/tenants/other");
  });
});

describe("forwarding, policy and the audit log", () => {
  test("GET the rules; PUT sets, keeps (missing) and clears (null); national numbers read in the country", async () => {
    await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "103",
      password: "secret-103-pw",
      displayName: "Carol",
    });
    const empty = await call("GET", "/api/v1/tenants/acme/extensions/101/forwarding");
    assert.equal(empty.status, 200, empty.raw);
    assert.deepEqual(empty.body, {
      unconditional: null,
      busy: null,
      noAnswer: null,
      unreachable: null,
      noAnswerSeconds: 20,
    });
    const put = await call("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
      unconditional: "079 123 12 12",
      noAnswerSeconds: 30,
    });
    assert.equal(put.status, 200, put.raw);
    assert.deepEqual(put.body, {
      unconditional: "+41791231212",
      busy: null,
      noAnswer: null,
      unreachable: null,
      noAnswerSeconds: 30,
    });
    assert.equal((await call("GET", "/api/v1/tenants/acme/extensions/101")).body.noAnswerSeconds, 30);
    const more = await call("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
      busy: "103",
      noAnswer: "+41 21 555 01 99",
    });
    assert.deepEqual(more.body, {
      unconditional: "+41791231212",
      busy: "103",
      noAnswer: "+41215550199",
      unreachable: null,
      noAnswerSeconds: 30,
    });
    const cleared = await call("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", {
      unconditional: null,
      unreachable: null,
    });
    assert.equal(cleared.body.unconditional, null);
    assert.equal(cleared.body.busy, "103");
    assert.deepEqual(
      (await store.forwarding.list("acme", "101")).map((f) => `${f.kind} ${f.target}`),
      ["busy 103", "noAnswer +41215550199"],
    );
    const events = (await call("GET", "/api/v1/tenants/acme/audit?limit=4")).body;
    assert.deepEqual(
      events.map((e: { action: string; subject: string; old: unknown; new: unknown }) => [
        e.action,
        e.subject,
        e.old,
        e.new,
      ]),
      [
        ["forwarding.clear", "101/unconditional", "+41791231212", null],
        ["forwarding.set", "101/noAnswer", null, "+41215550199"],
        ["forwarding.set", "101/busy", null, "103"],
        ["forwarding.set", "101/unconditional", null, "+41791231212"],
      ],
      "one event per rule actually changed, clearing nothing writes nothing",
    );
    assert.deepEqual(events[0].actor, { kind: "api", id: "admin" });
    assert.equal(events[0].at, "2026-03-01T09:00:00.000Z");
  });

  test("refusals answer 400 naming the rule and the reason, and change nothing", async () => {
    const before = await store.forwarding.list("acme", "101");
    const auditBefore = (await store.audit.list("acme", { limit: 1000 })).length;
    await store.forwarding.set(
      { tenant: "acme", extension: "103", kind: "unconditional", target: "101" },
      {
        kind: "phone",
        id: "103",
      },
    );
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ busy: "0900 123 456" }, /forwarding rule busy: calls to "0900 123 456" are not allowed/],
      [{ unreachable: "101" }, /forwarding rule unreachable: extension 101 cannot forward to itself/],
      [
        { unconditional: "103" },
        /forwarding rule unconditional: forwarding to "103" would lead back to extension 101/,
      ],
      [{ noAnswer: "12" }, /forwarding rule noAnswer: "12" is neither a valid phone number nor an extension/],
      [{ unconditional: "112" }, /forwarding rule unconditional: calls to "112" are not allowed/],
      // The first rule is fine, the second refused: the first is put back.
      [{ unconditional: "+41791231212", busy: "0900 123 456" }, /forwarding rule busy/],
      [{ noAnswerSeconds: 4 }, /noAnswerSeconds/],
      [{ busy: 103 }, /busy/],
      [{ always: "103" }, /unknown|additional/],
    ];
    for (const [body, message] of cases) {
      const r = await call("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", body);
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, message, JSON.stringify(body));
    }
    assert.deepEqual(await store.forwarding.list("acme", "101"), before);
    assert.equal((await store.extensions.get("acme", "101"))?.noAnswerSeconds, 30);
    const events = await store.audit.list("acme", { limit: 3 });
    assert.deepEqual(
      events.map((e) => [e.action, e.subject, e.old, e.new]),
      [
        ["forwarding.clear", "101/unconditional", "+41791231212", null],
        ["forwarding.set", "101/unconditional", null, "+41791231212"],
        ["forwarding.set", "103/unconditional", null, "101"],
      ],
      "the put-back is audited too",
    );
    assert.equal((await store.audit.list("acme", { limit: 1000 })).length, auditBefore + 3);
    await store.forwarding.clear("acme", "103", undefined, { kind: "phone", id: "103" });
    assertError(await call("GET", "/api/v1/tenants/acme/extensions/999/forwarding"), 404, "not_found");
    assertError(
      await call("PUT", "/api/v1/tenants/acme/extensions/999/forwarding", { busy: null }),
      404,
      "not_found",
    );
    assertError(
      await call("PUT", "/api/v1/tenants/ghost/extensions/101/forwarding", { busy: null }),
      404,
      "not_found",
    );
  });

  test("policy: GET the defaults, PATCH merges and is audited; the policy decides forwarding targets", async () => {
    const r = await call("GET", "/api/v1/tenants/acme/policy");
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(r.body, DEFAULT_DIALLING_POLICY);
    const p = await call("PATCH", "/api/v1/tenants/acme/policy", { premiumRate: true, maxExternalCalls: 8 });
    assert.equal(p.status, 200, p.raw);
    assert.deepEqual(p.body, { ...DEFAULT_DIALLING_POLICY, premiumRate: true, maxExternalCalls: 8 });
    assert.deepEqual((await call("GET", "/api/v1/tenants/acme")).body.policy, p.body);
    const [event] = await store.audit.list("acme", { limit: 1 });
    assert.deepEqual(
      [event.action, event.subject, event.actor, event.old, event.new],
      ["policy.update", "policy", { kind: "api", id: "admin" }, DEFAULT_DIALLING_POLICY, p.body],
    );
    const now = await call("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", { busy: "0900 123 456" });
    assert.equal(now.status, 200, now.raw);
    assert.equal(now.body.busy, "+41900123456");
    for (const [body, message] of [
      [{ maxExternalCalls: 1001 }, /maxExternalCalls/],
      [{ maxExternalCalls: -1 }, /maxExternalCalls/],
      [{ international: "yes" }, /international/],
      [{ fax: true }, /unknown|additional/],
    ] as [Record<string, unknown>, RegExp][]) {
      const bad = await call("PATCH", "/api/v1/tenants/acme/policy", body);
      assertError(bad, 400, "bad_request");
      assert.match(bad.body.error.message, message);
    }
    assertError(await call("GET", "/api/v1/tenants/ghost/policy"), 404, "not_found");
    assertError(await call("PATCH", "/api/v1/tenants/ghost/policy", { premiumRate: true }), 404, "not_found");
    await call("PATCH", "/api/v1/tenants/acme/policy", { premiumRate: false });
    await call("PUT", "/api/v1/tenants/acme/extensions/101/forwarding", { busy: null, noAnswer: null });
  });

  test("audit: features changes named with the API actor, newest first, limit checked", async () => {
    await call("PATCH", "/api/v1/tenants/acme/features", { schedules: true });
    const all = await call("GET", "/api/v1/tenants/acme/audit");
    assert.equal(all.status, 200, all.raw);
    assert.deepEqual(Object.keys(all.body[0]), ["at", "actor", "action", "subject", "old", "new"]);
    assert.equal(all.body[0].action, "features.update");
    assert.equal(all.body[0].old.schedules, false);
    assert.equal(all.body[0].new.schedules, true);
    assert.deepEqual(all.body[0].actor, { kind: "api", id: "admin" });
    const two = await call("GET", "/api/v1/tenants/acme/audit?limit=2");
    assert.deepEqual(two.body, all.body.slice(0, 2));
    for (const limit of ["0", "1001", "abc", "-1", "2.5"]) {
      assertError(await call("GET", `/api/v1/tenants/acme/audit?limit=${limit}`), 400, "bad_request");
    }
    assertError(await call("GET", "/api/v1/tenants/ghost/audit"), 404, "not_found");
  });
});

describe("voicemail", () => {
  const base = "/api/v1/tenants/acme/extensions";
  const speech = (ms: number) => {
    const path = join(root, `rec-${ms}-${clock.now()}.wav`);
    writeFileSync(path, writeWav(concat(silence(200), speechLike(ms), silence(300)), 8000));
    return path;
  };
  const upload = (url: string, body: Buffer | string, type = "audio/wav", token = TOKEN) =>
    app.inject({
      method: "PUT",
      url,
      payload: body,
      headers: { authorization: `Bearer ${token}`, "content-type": type },
    });

  before(async () => {
    await store.tenants.update("acme", { features: { voicemail: true, voicemailRemoteAccess: true } });
    for (const number of ["201", "202", "203"]) {
      const r = await call("POST", `${base}`, {
        number,
        password: `secret-${number}-pw`,
        displayName: `VM ${number}`,
      });
      assert.equal(r.status, 201, r.raw);
    }
  });

  test("PATCH sets the mailbox's options; GET shows them, never the PIN or its hash", async () => {
    const body = {
      voicemail: {
        enabled: true,
        pin: "4826",
        remoteAccess: false,
        email: null,
        skipPinOnOwnPhone: false,
        deleteAfterEmail: false,
        maxMessageSeconds: 180,
      },
    };
    const r = await call("PATCH", `${base}/201`, body);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(r.body.voicemail, { ...MAILBOX_OFF, enabled: true, hasPin: true });
    assert.equal(await voicemail?.verifyPin("acme", "201", "4826"), true);
    const got = await call("GET", `${base}/201`);
    assert.deepEqual(got.body.voicemail, r.body.voicemail);
    const more = await call("PATCH", `${base}/201`, {
      displayName: "Alice VM",
      voicemail: {
        remoteAccess: true,
        email: "alice@example.ch",
        maxMessageSeconds: 60,
        deleteAfterEmail: true,
      },
    });
    assert.equal(more.status, 200, more.raw);
    assert.equal(more.body.displayName, "Alice VM");
    assert.deepEqual(more.body.voicemail, {
      ...MAILBOX_OFF,
      enabled: true,
      hasPin: true,
      remoteAccess: true,
      email: "alice@example.ch",
      deleteAfterEmail: true,
      maxMessageSeconds: 60,
    });
    const cleared = await call("PATCH", `${base}/201`, { voicemail: { email: null } });
    assert.equal(cleared.body.voicemail.email, null);
    for (const x of [r, got, more, cleared]) assert.doesNotMatch(x.raw, /4826|scrypt|pinHash/);
    const audit = (await store.audit.list("acme", { limit: 1 }))[0];
    assert.equal(audit.action, "voicemail.update");
    assert.deepEqual(audit.actor, { kind: "api", id: "admin" });
  });

  test("trivial or malformed PINs and bad options are refused (400) and change nothing", async () => {
    const before = (await call("GET", `${base}/201`)).body;
    for (const [voicemailBody, pattern] of [
      [{ pin: "1234" }, /too easy to guess/],
      [{ pin: "9876" }, /too easy to guess/],
      [{ pin: "0000" }, /too easy to guess/],
      [{ pin: "201201" }, /too easy to guess/],
      [{ pin: "12" }, /pin/],
      [{ pin: 4826 }, /pin/],
      [{ email: "not an address" }, /email/],
      [{ email: "a@b.ch\r\nBcc: x@y.ch" }, /email/],
      [{ maxMessageSeconds: 5 }, /maxMessageSeconds/],
      [{ enabled: "yes" }, /enabled/],
      [{ pinHash: "scrypt$00$11" }, /pinHash/],
      [null, /voicemail/],
    ] as [unknown, RegExp][]) {
      const r = await call("PATCH", `${base}/201`, { displayName: "Changed", voicemail: voicemailBody });
      assertError(r, 400, "bad_request");
      assert.match(r.body.error.message, pattern);
      assert.doesNotMatch(r.body.error.message, /1234|9876|201201/, "the PIN is not echoed");
    }
    assert.deepEqual((await call("GET", `${base}/201`)).body, before);
    assert.equal(await voicemail?.verifyPin("acme", "201", "4826"), true);
  });

  test("a mailbox enabled without a PIN gets a random one, shown once; pin-reset gives another", async () => {
    const r = await call("PATCH", `${base}/202`, { voicemail: { enabled: true } });
    assert.equal(r.status, 200, r.raw);
    const pin = r.body.voicemail.pin;
    assert.match(pin, /^[0-9]{6}$/);
    assert.equal(r.body.voicemail.hasPin, true);
    assert.equal(await voicemail?.verifyPin("acme", "202", pin), true);
    assert.equal((await call("GET", `${base}/202`)).body.voicemail.pin, undefined, "never again");
    const again = await call("PATCH", `${base}/202`, { voicemail: { enabled: true } });
    assert.equal(again.body.voicemail.pin, undefined);

    const reset = await call("POST", `${base}/202/voicemail/pin-reset`);
    assert.equal(reset.status, 200, reset.raw);
    assert.match(reset.body.pin, /^[0-9]{6}$/);
    assert.equal(await voicemail?.verifyPin("acme", "202", reset.body.pin), true);
    assertError(await call("POST", `${base}/999/voicemail/pin-reset`), 404, "not_found");
  });

  test("messages: list, metadata, audio streamed, moved between folders (lamp follows), deleted", async () => {
    const tenant = await store.tenants.get("acme");
    assert.ok(tenant, "tenant");
    const first = await voicemail?.deposit(
      tenant,
      "201",
      { path: speech(3000), durationMs: 3500 },
      {
        number: "+41791231212",
        name: "Bob",
      },
    );
    clock.tick(1000);
    const second = await voicemail?.deposit(
      tenant,
      "201",
      { path: speech(3000), durationMs: 3500 },
      { number: "203" },
    );
    assert.ok(first && second, "two messages");
    const list = await call("GET", `${base}/201/voicemail/messages`);
    assert.equal(list.status, 200, list.raw);
    assert.deepEqual(list.body, [
      {
        id: first.id,
        folder: "new",
        callerNumber: "+41791231212",
        callerName: "Bob",
        receivedAt: first.receivedAt,
        durationMs: first.durationMs,
      },
      {
        id: second.id,
        folder: "new",
        callerNumber: "203",
        callerName: null,
        receivedAt: second.receivedAt,
        durationMs: second.durationMs,
      },
    ]);
    assert.equal((await call("GET", `${base}/201/voicemail/messages/${first.id}`)).body.callerName, "Bob");

    const audio = await app.inject({
      method: "GET",
      url: `${base}/201/voicemail/messages/${first.id}/audio`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(audio.statusCode, 200);
    assert.equal(audio.headers["content-type"], "audio/wav");
    assert.deepEqual(audio.rawPayload, readFileSync(voicemail?.audioPath(first) as string));
    assert.equal(readWav(audio.rawPayload).sampleRate, 8000);

    published.length = 0;
    const moved = await call("PATCH", `${base}/201/voicemail/messages/${first.id}`, { folder: "old" });
    assert.equal(moved.status, 200, moved.raw);
    assert.equal(moved.body.folder, "old");
    assert.deepEqual(published.at(-1), {
      tenant: "acme",
      mailbox: "201",
      counts: { newMessages: 1, oldMessages: 1 },
    });
    assert.deepEqual(
      (await call("GET", `${base}/201/voicemail/messages?folder=old`)).body.map((m: { id: string }) => m.id),
      [first.id],
    );
    assert.deepEqual(
      (await call("GET", `${base}/201/voicemail/messages`)).body.map((m: { id: string }) => m.id),
      [second.id, first.id],
      "new first",
    );
    assertError(
      await call("PATCH", `${base}/201/voicemail/messages/${first.id}`, { folder: "trash" }),
      400,
      "bad_request",
    );
    assertError(await call("GET", `${base}/201/voicemail/messages?folder=trash`), 400, "bad_request");

    const del = await call("DELETE", `${base}/201/voicemail/messages/${first.id}`);
    assert.equal(del.status, 204);
    assert.ok(!existsSync(voicemail?.audioPath(first) as string), "audio deleted");
    assert.deepEqual(published.at(-1)?.counts, { newMessages: 1, oldMessages: 0 });
    assertError(await call("DELETE", `${base}/201/voicemail/messages/${first.id}`), 404, "not_found");
    assertError(await call("GET", `${base}/201/voicemail/messages/${first.id}`), 404, "not_found");
    assertError(await call("GET", `${base}/201/voicemail/messages/${first.id}/audio`), 404, "not_found");
    assertError(await call("GET", `${base}/202/voicemail/messages/${second.id}`), 404, "not_found");
    assertError(await call("GET", `${base}/201/voicemail/messages/not-a-uuid`), 400, "bad_request");
    assertError(await call("GET", `${base}/999/voicemail/messages`), 404, "not_found");
    assertError(
      await call("GET", "/api/v1/tenants/ghost/extensions/201/voicemail/messages"),
      404,
      "not_found",
    );
  });

  test("greetings: upload (any WAV, kept at 8 kHz), download, delete; bad uploads refused", async () => {
    const url = `${base}/201/voicemail/greetings/unavailable`;
    assertError(await call("GET", url), 404, "not_found");
    const put = await upload(url, writeWav(speechLike(1500, 16000), 16000));
    assert.equal(put.statusCode, 204, put.body);
    const got = await app.inject({ method: "GET", url, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers["content-type"], "audio/wav");
    const wav = readWav(got.rawPayload);
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.samples.length, 12000);
    assert.equal(
      await voicemail?.greeting("acme", "201", "unavailable"),
      join(root, "voicemail", "acme", "201", "greeting-unavailable.wav"),
    );

    const json = await app.inject({
      method: "PUT",
      url,
      payload: { audio: "x" },
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(json.statusCode, 415, json.body);
    for (const type of ["audio/mpeg", "application/octet-stream"]) {
      // The company's announcements take these; a greeting stays WAV.
      const other = await app.inject({
        method: "PUT",
        url,
        payload: Buffer.from("ID3 not a wav"),
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": type },
      });
      assert.equal(other.statusCode, 415, other.body);
    }
    const garbage = await upload(url, Buffer.from("RIFF....WAVEjunk"));
    assert.equal(garbage.statusCode, 400, garbage.body);
    assert.match(JSON.parse(garbage.body).error.message, /not a WAV file/);
    const silent = await upload(url, writeWav(silence(1000), 8000));
    assert.equal(silent.statusCode, 400, silent.body);
    const huge = await upload(url, Buffer.alloc(17 * 1024 * 1024));
    assert.equal(huge.statusCode, 413, huge.body);
    assert.equal(JSON.parse(huge.body).error.code, "payload_too_large");
    assertError(await call("GET", `${base}/201/voicemail/greetings/party`), 400, "bad_request");
    assert.equal(
      readWav(readFileSync(join(root, "voicemail", "acme", "201", "greeting-unavailable.wav"))).samples
        .length,
      12000,
      "refused uploads change nothing",
    );

    assert.equal((await call("DELETE", url)).status, 204);
    assertError(await call("DELETE", url), 404, "not_found");
    assertError(await call("GET", url), 404, "not_found");
  });

  test("a lockout shows on the extension; unlock lifts it (audited)", async () => {
    const tenant = await store.tenants.get("acme");
    assert.ok(tenant, "tenant");
    const caller = { number: "+41795555555", source: "udp:203.0.113.9:5060" };
    for (let i = 0; i < 5; i++)
      assert.equal(await voicemail?.tryRemotePin(tenant, "201", "0598", caller), "wrong");
    const locked = (await call("GET", `${base}/201`)).body.voicemail;
    assert.equal(locked.remoteAccessLockedUntil, new Date(clock.now() + 3600_000).toISOString());
    const r = await call("POST", `${base}/201/voicemail/unlock`);
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.remoteAccessLockedUntil, null);
    assert.equal(await voicemail?.remoteAccess(tenant, "201", caller), true);
    assert.equal((await store.audit.list("acme", { limit: 1 }))[0].action, "voicemail.unlock");
    assertError(await call("POST", `${base}/999/voicemail/unlock`), 404, "not_found");
  });

  test("without the voicemail service: 503, and a PATCH with voicemail changes nothing", async () => {
    const kept = voicemail;
    voicemail = undefined;
    try {
      const r = await call("PATCH", `${base}/203`, { displayName: "Nope", voicemail: { enabled: true } });
      assertError(r, 503, "unavailable");
      assert.equal((await call("GET", `${base}/203`)).body.displayName, "VM 203");
      assertError(await call("GET", `${base}/203/voicemail/messages`), 503, "unavailable");
      assertError(await call("POST", `${base}/203/voicemail/pin-reset`), 503, "unavailable");
      assert.equal((await call("PATCH", `${base}/203`, { displayName: "Fine" })).status, 200);
    } finally {
      voicemail = kept;
    }
  });

  test("deleting an extension removes its mailbox's files", async () => {
    await call("POST", base, { number: "204", password: "secret-204-pw", displayName: "VM 204" });
    await call("PATCH", `${base}/204`, { voicemail: { enabled: true, pin: "5937" } });
    const tenant = await store.tenants.get("acme");
    assert.ok(tenant, "tenant");
    const m = await voicemail?.deposit(
      tenant,
      "204",
      { path: speech(3000), durationMs: 3500 },
      { number: "201" },
    );
    assert.ok(m, "a message");
    assert.ok(existsSync(join(root, "voicemail", "acme", "204")), "mailbox on disk");
    assert.equal((await call("DELETE", `${base}/204`)).status, 204);
    assert.ok(!existsSync(join(root, "voicemail", "acme", "204")), "mailbox removed");
    assert.equal(await store.voicemail.getMessage("acme", "204", m.id), undefined);
  });

  test("tenant operator: an extension of the tenant, or null; shown on the tenant", async () => {
    const set = await call("PATCH", "/api/v1/tenants/acme", { operator: "201" });
    assert.equal(set.status, 200, set.raw);
    assert.equal(set.body.operator, "201");
    assert.equal((await call("GET", "/api/v1/tenants/acme")).body.operator, "201");
    const unknown = await call("PATCH", "/api/v1/tenants/acme", { operator: "999", language: "de" });
    assertError(unknown, 400, "bad_request");
    assert.match(unknown.body.error.message, /operator 999 is not an extension of tenant acme/);
    assert.equal(
      (await call("GET", "/api/v1/tenants/acme")).body.language,
      "fr",
      "a refused patch changes nothing",
    );
    assertError(await call("PATCH", "/api/v1/tenants/acme", { operator: "abc" }), 400, "bad_request");
    assertError(await call("PATCH", "/api/v1/tenants/ghost", { operator: "201" }), 404, "not_found");
    const cleared = await call("PATCH", "/api/v1/tenants/acme", { operator: null });
    assert.equal(cleared.body.operator, null);
  });
});

describe("live views", () => {
  test("registrations of a tenant and calls come from the PBX view", async () => {
    registrations.set("acme", [
      {
        extension: "101",
        contact: "sip:101@192.0.2.10:5060",
        expiresAt: "2026-03-01T10:00:00.000Z",
        source: "udp:192.0.2.10:5060",
        userAgent: "Yealink",
      },
    ]);
    calls.push({
      id: "c1",
      tenant: "acme",
      from: "101",
      to: "102",
      state: "answered",
      startedAt: "2026-03-01T09:00:00.000Z",
      answeredAt: "2026-03-01T09:00:05.000Z",
      callIds: ["a@x", "b@y"],
    });
    const regs = await call("GET", "/api/v1/tenants/acme/registrations");
    assert.equal(regs.status, 200, regs.raw);
    assert.deepEqual(regs.body, registrations.get("acme"));
    assertError(await call("GET", "/api/v1/tenants/ghost/registrations"), 404, "not_found");
    const c = await call("GET", "/api/v1/calls");
    assert.deepEqual(c.body, calls);
  });

  test("subscriptions of a tenant come from the PBX view; none when the PBX has no event hub", async () => {
    const view: SubscriptionView = {
      extension: "101",
      contact: "sip:101@192.0.2.10:5060",
      source: "udp:192.0.2.10:5060",
      package: "dialog",
      resource: "102",
      expiresAt: "2026-03-01T10:00:00.000Z",
    };
    subscriptionViews.set("acme", [view, { ...view, package: "message-summary", resource: "101" }]);
    const r = await call("GET", "/api/v1/tenants/acme/subscriptions");
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(r.body, subscriptionViews.get("acme"));
    assertError(await call("GET", "/api/v1/tenants/ghost/subscriptions"), 404, "not_found");
    const kept = pbx.subscriptions;
    delete pbx.subscriptions;
    try {
      assert.deepEqual((await call("GET", "/api/v1/tenants/acme/subscriptions")).body, []);
    } finally {
      pbx.subscriptions = kept;
    }
  });
});

describe("openapi", () => {
  test("documents every route with its schemas, 3.1, bearer auth", async () => {
    const r = await call("GET", "/api/v1/openapi.json", undefined, null);
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: "http", scheme: "bearer" });
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, o]) =>
      Object.keys(o).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const expected of [
      "POST /api/v1/tenants",
      "GET /api/v1/tenants",
      "GET /api/v1/tenants/{name}",
      "PATCH /api/v1/tenants/{name}",
      "DELETE /api/v1/tenants/{name}",
      "POST /api/v1/tenants/{name}/extensions",
      "GET /api/v1/tenants/{name}/extensions",
      "GET /api/v1/tenants/{name}/extensions/{number}",
      "PATCH /api/v1/tenants/{name}/extensions/{number}",
      "DELETE /api/v1/tenants/{name}/extensions/{number}",
      "GET /api/v1/tenants/{name}/features",
      "PATCH /api/v1/tenants/{name}/features",
      "GET /api/v1/tenants/{name}/feature-codes",
      "PUT /api/v1/tenants/{name}/feature-codes/{action}",
      "DELETE /api/v1/tenants/{name}/feature-codes",
      "GET /api/v1/tenants/{name}/registrations",
      "GET /api/v1/tenants/{name}/subscriptions",
      "GET /api/v1/tenants/{name}/extensions/{number}/forwarding",
      "PUT /api/v1/tenants/{name}/extensions/{number}/forwarding",
      "GET /api/v1/tenants/{name}/policy",
      "PATCH /api/v1/tenants/{name}/policy",
      "GET /api/v1/tenants/{name}/audit",
      "POST /api/v1/tenants/{name}/numbers",
      "GET /api/v1/tenants/{name}/numbers",
      "DELETE /api/v1/tenants/{name}/numbers/{number}",
      "POST /api/v1/trunks",
      "GET /api/v1/trunks",
      "GET /api/v1/trunks/{name}",
      "PATCH /api/v1/trunks/{name}",
      "DELETE /api/v1/trunks/{name}",
      "GET /api/v1/calls",
      "GET /api/v1/tenants/{name}/extensions/{number}/voicemail/messages",
      "GET /api/v1/tenants/{name}/extensions/{number}/voicemail/messages/{id}",
      "GET /api/v1/tenants/{name}/extensions/{number}/voicemail/messages/{id}/audio",
      "PATCH /api/v1/tenants/{name}/extensions/{number}/voicemail/messages/{id}",
      "DELETE /api/v1/tenants/{name}/extensions/{number}/voicemail/messages/{id}",
      "GET /api/v1/tenants/{name}/extensions/{number}/voicemail/greetings/{kind}",
      "PUT /api/v1/tenants/{name}/extensions/{number}/voicemail/greetings/{kind}",
      "DELETE /api/v1/tenants/{name}/extensions/{number}/voicemail/greetings/{kind}",
      "POST /api/v1/tenants/{name}/extensions/{number}/voicemail/unlock",
      "POST /api/v1/tenants/{name}/extensions/{number}/voicemail/pin-reset",
      "GET /api/v1/openapi.json",
      "GET /health",
    ]) {
      assert.ok(ops.includes(expected), expected);
    }
    const create = doc.paths["/api/v1/tenants/{name}/extensions"].post;
    assert.deepEqual(create.requestBody.content["application/json"].schema.required, [
      "number",
      "password",
      "displayName",
    ]);
    assert.equal(create.parameters[0].name, "name");
    assert.ok(create.responses["201"] && create.responses["409"] && create.responses["401"]);
    assert.deepEqual(doc.paths["/health"].get.security, []);
    const audit = doc.paths["/api/v1/tenants/{name}/audit"].get;
    assert.deepEqual(
      audit.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`),
      ["path name", "query limit"],
    );
    const trunk = doc.components?.schemas ?? {};
    assert.ok(trunk.Error);
    const trunkResponse =
      doc.paths["/api/v1/trunks/{name}"].get.responses["200"].content["application/json"].schema;
    assert.ok(trunkResponse.properties.hasPassword);
    assert.equal(trunkResponse.properties.password, undefined, "the password is not part of the view");
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      (o) => Object.values(o).map((x) => x.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, "operation ids are unique");
    const vm = "/api/v1/tenants/{name}/extensions/{number}/voicemail";
    assert.deepEqual(Object.keys(doc.paths[`${vm}/messages/{id}/audio`].get.responses["200"].content), [
      "audio/wav",
    ]);
    assert.deepEqual(Object.keys(doc.paths[`${vm}/greetings/{kind}`].put.requestBody.content), ["audio/wav"]);
    const extension = doc.paths["/api/v1/tenants/{name}/extensions/{number}"];
    const shown = extension.get.responses["200"].content["application/json"].schema.properties.voicemail;
    assert.equal(shown.properties.pinHash, undefined, "never the hash");
    assert.ok(
      extension.patch.requestBody.content["application/json"].schema.properties.voicemail.properties.pin,
      "pin",
    );
  });
});
