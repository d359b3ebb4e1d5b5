// The call history routes through the whole API (its guard and scopes) over
// a real SQLite store: JSON pages with their filters and cursor, the CSV
// export, one extension's own list, and who may read which.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { CallRecord } from "../store/types.ts";
import { ADMIN_TOKEN, addToken, call, seedCompanies, type TestApi, testApi } from "./auth/testing.ts";
import { csvField, cursorOf } from "./history-routes.ts";

/** Monday 2 March 2026, 10:00 UTC (11:00 in Zurich). */
const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
const HOUR = 3_600_000;
let api: TestApi;
let acmeAdmin: string;
let bistroAdmin: string;
let user101: string;

let n = 0;
function record(over: Partial<CallRecord> = {}): CallRecord {
  n++;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    tenant: "acme",
    callId: `call-${n}@phone`,
    direction: "internal",
    startedAt: T0 - n * HOUR,
    endedAt: T0 - n * HOUR + 65_000,
    caller: "101",
    dialled: "102",
    outcome: "answered",
    destination: "102",
    answeredAt: T0 - n * HOUR + 5_000,
    extensions: ["101", "102"],
    ...over,
  };
}

const get = (url: string, token = ADMIN_TOKEN) => call(api.app, "GET", url, { token });
const H = "/api/v1/tenants/acme/calls/history";

// Newest first: a, b, c, d, e, f (n = 1..6 → an hour apart, going back).
const a = record({
  caller: "+41791234567",
  callerName: 'Zoë "the client", Inc.',
  dialled: "+41215550100",
  direction: "inbound",
  trunk: "carrier",
  extensions: ["102"],
});
const b = record({ outcome: "no-answer", answeredAt: undefined, extensions: ["101", "102"] });
const c = record({
  caller: "103",
  dialled: "*72101",
  destination: "app:*72101",
  outcome: "app",
  extensions: ["103"],
});
const d = record({
  caller: "102",
  dialled: "0791234567",
  destination: "+41791234567",
  direction: "outbound",
  trunk: "carrier",
  extensions: ["102"],
});
const e = record({
  caller: "101",
  dialled: "102",
  destination: "103",
  outcome: "forwarded",
  forwardedTo: "103",
  extensions: ["101", "102", "103"],
});
const f = record({
  callerName: '=HYPERLINK("http://evil.example","click")',
  caller: "-1+1",
  dialled: "@SUM(A1)",
  outcome: "busy",
  answeredAt: undefined,
  destination: "line\r\nbreak",
  extensions: ["101"],
});
const other = record({ tenant: "bistro", caller: "201", dialled: "202", extensions: ["201"] });

before(async () => {
  api = await testApi();
  await seedCompanies(api.app);
  for (const r of [a, b, c, d, e, f, other]) await api.store.callHistory.add(r);
  acmeAdmin = await addToken(api.app, "acme");
  bistroAdmin = await addToken(api.app, "bistro");
  user101 = await addToken(api.app, "acme", { role: "user", extension: "101" });
});
after(() => api.close());

describe("GET /api/v1/tenants/:name/calls/history", () => {
  test("newest first, each call as the API shows it", async () => {
    const r = await get(H);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(
      r.body.calls.map((x: { id: string }) => x.id),
      [a, b, c, d, e, f].map((x) => x.id),
    );
    assert.equal(r.body.next, null);
    assert.deepEqual(r.body.calls[0], {
      id: a.id,
      callId: a.callId,
      direction: "inbound",
      startedAt: "2026-03-02T09:00:00.000Z",
      answeredAt: "2026-03-02T09:00:05.000Z",
      endedAt: "2026-03-02T09:01:05.000Z",
      talkSeconds: 60,
      caller: "+41791234567",
      callerName: 'Zoë "the client", Inc.',
      dialled: "+41215550100",
      destination: "102",
      outcome: "answered",
      forwardedTo: null,
      trunk: "carrier",
      extensions: ["102"],
    });
    assert.equal(r.body.calls[1].answeredAt, null);
    assert.equal(r.body.calls[1].talkSeconds, 0);
  });

  test("filters: outcome, direction, extension, and a time range in ISO 8601", async () => {
    const ids = async (q: string) => (await get(`${H}?${q}`)).body.calls.map((x: { id: string }) => x.id);
    assert.deepEqual(await ids("outcome=forwarded"), [e.id]);
    assert.deepEqual(await ids("direction=outbound"), [d.id]);
    assert.deepEqual(await ids("extension=103"), [c.id, e.id]);
    assert.deepEqual(await ids("extension=101&outcome=busy"), [f.id]);
    // c started at 07:00Z, d at 06:00Z: from is inclusive, to exclusive.
    assert.deepEqual(await ids("from=2026-03-02T06:00:00Z&to=2026-03-02T07:00:00.001Z"), [c.id, d.id]);
    assert.deepEqual(await ids("from=2026-03-02T08:00:00%2B01:00&to=2026-03-02T09:00:00%2B01:00"), [c.id]);
    // A time without an offset is the tenant's (Zurich, UTC+1): 08:00 there is 07:00Z.
    assert.deepEqual(await ids("from=2026-03-02T08:00&to=2026-03-02T08:30"), [c.id]);
    assert.deepEqual(await ids("from=2026-03-03"), [], "a date is midnight in the tenant's zone");
    assert.equal((await ids("from=2026-03-02")).length, 6);
  });

  test("a wrong parameter is a 400 that names it and what is expected; all of them at once", async () => {
    const cases: Array<[string, RegExp]> = [
      ["from=yesterday", /from "yesterday" is not a time: expected ISO 8601/],
      ["to=2026-13-45", /to "2026-13-45" is not a time/],
      ["from=2026-03-02&to=2026-03-01", /from 2026-03-02 must be before to 2026-03-01/],
      ["limit=0", /limit "0" must be a whole number from 1 to 1000/],
      ["limit=1001", /limit "1001" must be a whole number from 1 to 1000/],
      ["outcome=lost", /outcome must be one of: answered, busy/],
      ["direction=sideways", /direction must be one of: internal, inbound, outbound/],
      ["extension=abc", /extension "abc" is not an extension number/],
      ["before=not-a-cursor", /before "not-a-cursor" is not a cursor/],
      ["color=blue", /unknown field "color"/],
      ["outcome=busy&outcome=app", /outcome must be string/],
    ];
    for (const [q, expected] of cases) {
      const r = await get(`${H}?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, "bad_request", q);
      assert.match(r.body.error.message, expected, q);
    }
    const both = await get(`${H}?from=x&limit=y`);
    assert.match(both.body.error.message, /from "x".*; limit "y"/);
  });

  test("pages: limit and next walk the list once; the last page says there is no more", async () => {
    const seen: string[] = [];
    let url = `${H}?limit=4&extension=101`;
    for (;;) {
      const r = await get(url);
      assert.equal(r.status, 200, r.raw);
      seen.push(...r.body.calls.map((x: { id: string }) => x.id));
      if (r.body.next === null) break;
      url = `${H}?limit=4&extension=101&before=${r.body.next}`;
    }
    assert.deepEqual(
      seen,
      [b.id, c.id, e.id, f.id].filter((id) => id !== c.id),
    );
    const exact = await get(`${H}?limit=6`);
    assert.equal(exact.body.calls.length, 6);
    assert.equal(exact.body.next, null, "exactly the last call: no empty page after it");
    const first = await get(`${H}?limit=5`);
    assert.equal(first.body.next, cursorOf(e));
  });

  test("only the provider and the company's administrators; another company's is 403, a missing one 404", async () => {
    assert.equal((await get(H, acmeAdmin)).status, 200);
    const theirs = await get(H, bistroAdmin);
    assert.equal(theirs.status, 403);
    assert.equal((await get(H, user101)).status, 403, "a user reads only its own extension's list");
    const own = await get("/api/v1/tenants/bistro/calls/history", bistroAdmin);
    assert.deepEqual(
      own.body.calls.map((x: { id: string }) => x.id),
      [other.id],
    );
    assert.equal((await call(api.app, "GET", H)).status, 401);
    assert.equal((await get("/api/v1/tenants/nobody/calls/history")).status, 404);
  });
});

describe("GET /api/v1/tenants/:name/extensions/:number/calls/history", () => {
  const E = "/api/v1/tenants/acme/extensions/101/calls/history";

  test("the calls that involved the extension, for its user too", async () => {
    const r = await get(E, user101);
    assert.equal(r.status, 200, r.raw);
    assert.deepEqual(
      r.body.calls.map((x: { id: string }) => x.id),
      [b.id, e.id, f.id],
    );
    assert.deepEqual(
      (await get(`${E}?outcome=busy`, user101)).body.calls.map((x: { id: string }) => x.id),
      [f.id],
    );
  });

  test("not another extension's, not another company's; extension is not a filter here", async () => {
    assert.equal((await get("/api/v1/tenants/acme/extensions/102/calls/history", user101)).status, 403);
    assert.equal((await get("/api/v1/tenants/bistro/extensions/201/calls/history", user101)).status, 403);
    assert.equal((await get("/api/v1/tenants/acme/extensions/102/calls/history", acmeAdmin)).status, 200);
    assert.equal((await get("/api/v1/tenants/acme/extensions/999/calls/history")).status, 404);
    const r = await get(`${E}?extension=102`, user101);
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /unknown field "extension"/);
  });
});

describe("GET /api/v1/tenants/:name/calls/history.csv", () => {
  test("a CSV file (RFC 4180) with a header row, for download", async () => {
    const r = await get(`${H}.csv`, acmeAdmin);
    assert.equal(r.status, 200, r.raw);
    assert.match(String(r.headers["content-type"]), /^text\/csv; charset=utf-8/);
    assert.equal(r.headers["content-disposition"], 'attachment; filename="calls-acme.csv"');
    assert.ok(r.raw.endsWith("\r\n"));
    const lines = r.raw.split("\r\n");
    assert.equal(
      lines[0],
      "started_at,answered_at,ended_at,talk_seconds,direction,caller,caller_name,dialled,destination,outcome,forwarded_to,trunk,extensions,call_id,id",
    );
    assert.equal(
      lines[1],
      `2026-03-02T09:00:00.000Z,2026-03-02T09:00:05.000Z,2026-03-02T09:01:05.000Z,60,inbound,'+41791234567,"Zoë ""the client"", Inc.",'+41215550100,102,answered,,carrier,102,${a.callId},${a.id}`,
    );
    // f's destination holds a line break: one quoted field over two lines.
    assert.ok(r.raw.includes(`"line\r\nbreak"`));
    assert.ok(
      r.raw.includes(`'-1+1,"'=HYPERLINK(""http://evil.example"",""click"")",'@SUM(A1),`),
      "formulas are defused",
    );
    assert.equal(r.raw.split(`\r\n${new Date(T0 - 1000).getUTCFullYear()}-`).length - 1, 6, "six calls");
  });

  test("the filters apply; a wrong one is a 400, not a half-written file; another company's is 403", async () => {
    const r = await get(`${H}.csv?outcome=forwarded`);
    assert.equal(r.raw.trimEnd().split("\r\n").length, 2);
    assert.ok(r.raw.includes(e.id));
    const bad = await get(`${H}.csv?from=soon`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /from "soon" is not a time/);
    assert.equal((await get(`${H}.csv`, bistroAdmin)).status, 403);
    assert.equal((await get(`${H}.csv`, user101)).status, 403);
  });

  test("more calls than one page of the store: every one, or limit of them", async () => {
    const many: CallRecord[] = [];
    for (let i = 0; i < 1234; i++) {
      many.push(record({ tenant: "bistro", startedAt: T0 - 1000 * i - 30 * 24 * HOUR, extensions: [] }));
    }
    for (const r of many) await api.store.callHistory.add(r);
    const all = await get("/api/v1/tenants/bistro/calls/history.csv");
    const rows = all.raw.trimEnd().split("\r\n").slice(1);
    assert.equal(rows.length, 1235, "the 1234 and the one before them");
    assert.equal(new Set(rows.map((line) => line.split(",").at(-1))).size, 1235, "each once");
    const some = await get("/api/v1/tenants/bistro/calls/history.csv?limit=10");
    assert.equal(some.raw.trimEnd().split("\r\n").length, 11);
  });
});

test("csvField: quotes what RFC 4180 asks, defuses formulas, leaves the rest", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField(null), "");
  assert.equal(csvField(42), "42");
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("=1+1"), "'=1+1");
  assert.equal(csvField("+41791234567"), "'+41791234567");
  assert.equal(csvField("@cmd"), "'@cmd");
  assert.equal(csvField("\tx"), "'\tx");
  assert.equal(csvField("-2,3"), `"'-2,3"`);
});

test("the OpenAPI document lists the routes with their scopes", async () => {
  const r = await call(api.app, "GET", "/api/v1/openapi.json");
  const paths = r.body.paths as Record<string, Record<string, Record<string, unknown>>>;
  assert.ok(paths["/api/v1/tenants/{name}/calls/history"]?.get);
  assert.ok(paths["/api/v1/tenants/{name}/calls/history.csv"]?.get);
  assert.ok(paths["/api/v1/tenants/{name}/extensions/{number}/calls/history"]?.get);
});
