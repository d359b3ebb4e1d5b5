import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance, InjectOptions } from "fastify";
import { makeCredentials } from "../store/credentials.ts";
import { openSqliteStore } from "../store/sqlite/sqlite-store.ts";
import {
  DEFAULT_DIALLING_POLICY,
  DEFAULT_FEATURE_CODES,
  DEFAULT_FEATURES,
  FEATURE_ACTIONS,
  type Store,
} from "../store/types.ts";
import { FakeClock } from "../util/clock.ts";
import { silentLogger } from "../util/log.ts";
import type { CallView, PbxView, RegistrationView } from "./pbx-view.ts";
import { buildApi } from "./server.ts";

const TOKEN = "test-admin-token-0123456789";
const root = mkdtempSync(join(tmpdir(), "vpbx-api-"));
let store: Store;
let app: FastifyInstance;
let ready = true;
const registrations = new Map<string, RegistrationView[]>();
const calls: CallView[] = [];
const pbx: PbxView = {
  registrations: async (tenant) => registrations.get(tenant) ?? [],
  calls: () => calls,
};

before(async () => {
  store = openSqliteStore({ dataDir: root, clock: new FakeClock(Date.UTC(2026, 2, 1, 9, 0, 0)) });
  app = buildApi({ store, pbx, verifyToken: (t) => t === TOKEN, log: silentLogger(), isReady: () => ready });
  await app.ready();
});
after(async () => {
  await app.close();
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
async function call(method: Method, url: string, body?: unknown, token: string | null = TOKEN) {
  const opts: InjectOptions = { method, url, headers: {} };
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

  test("every /api/v1 route but the OpenAPI document requires the token", async () => {
    const doc = (await call("GET", "/api/v1/openapi.json", undefined, null)).body;
    const urls: [Method, string][] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(ops)) {
        if (path === "/health" || path.endsWith("openapi.json")) continue;
        urls.push([
          method.toUpperCase() as Method,
          path.replace("{name}", "acme").replace("{number}", "101").replace("{action}", "voicemail.access"),
        ]);
      }
    }
    assert.ok(urls.length >= 17);
    for (const [method, url] of urls) {
      for (const token of [null, "wrong-token", ""]) {
        const r = await call(method, url, method === "GET" || method === "DELETE" ? undefined : {}, token);
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

  test("unknown routes answer 404 in the error shape", async () => {
    assertError(await call("GET", "/api/v1/nothing-here"), 404, "not_found");
    assertError(await call("GET", "/nothing"), 404, "not_found");
    assertError(await call("GET", "/nothing", undefined, null), 401, "unauthorized");
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
      password: "password-10",
      displayName: "M",
    });
    const p = await call("PATCH", "/api/v1/tenants/moving", { domain: "new.test" });
    assert.equal(p.body.domain, "new.test");
    assert.equal((await store.extensions.get("moving", "10"))?.credentials.realm, "old.test");
    await call("PATCH", "/api/v1/tenants/moving/extensions/10", { password: "password-new" });
    assert.deepEqual(
      (await store.extensions.get("moving", "10"))?.credentials,
      makeCredentials("10", "new.test", "password-new"),
    );
    await call("DELETE", "/api/v1/tenants/moving");
  });

  test("409 on a duplicate number, 404 on an unknown tenant", async () => {
    const dup = await call("POST", "/api/v1/tenants/acme/extensions", {
      number: "101",
      password: "whatever-pass",
      displayName: "Dup",
    });
    assertError(dup, 409, "conflict");
    assertError(
      await call("POST", "/api/v1/tenants/ghost/extensions", {
        number: "101",
        password: "whatever-pass",
        displayName: "X",
      }),
      404,
      "not_found",
    );
    assertError(await call("GET", "/api/v1/tenants/ghost/extensions"), 404, "not_found");
  });

  test("400 on bad payloads; weak passwords refused", async () => {
    const base = { number: "103", password: "good-password", displayName: "Carol" };
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
      assert.doesNotMatch(r.raw, /good-password|12341234/, "a password is never echoed");
    }
    assertError(
      await call("PATCH", "/api/v1/tenants/acme/extensions/101", { password: "101101101" }),
      400,
      "bad_request",
    );
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
      "GET /api/v1/calls",
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
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      (o) => Object.values(o).map((x) => x.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, "operation ids are unique");
  });
});
