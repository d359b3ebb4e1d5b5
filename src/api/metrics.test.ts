// GET /metrics through the whole API: off without its token, its own bearer
// token (not the API's), and the Prometheus text of a PBX snapshot read once
// per scrape, in a registry of its own.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { register as globalRegistry } from "prom-client";
import { ADMIN_TOKEN, addToken, call, seedCompanies, type TestApi, testApi } from "./auth/testing.ts";
import type { PbxMetrics } from "./pbx-view.ts";

const METRICS_TOKEN = "metrics-token-0123456789abcdef";

const snapshot: PbxMetrics = {
  registrations: [
    { tenant: "acme", count: 2 },
    { tenant: "bistro", count: 0 },
  ],
  callsInProgress: [{ tenant: "acme", count: 1 }],
  callsEnded: [
    { tenant: "acme", outcome: "answered", count: 3 },
    { tenant: "acme", outcome: "voicemail", count: 1 },
    { tenant: "bistro", outcome: "busy", count: 2 },
  ],
  sipErrorResponses: [
    { status: 401, count: 7 },
    { status: 486, count: 2 },
  ],
  rtp: { received: 1500, sent: 1490, lost: 5, dropped: { foreign: 3, invalid: 1, srtp: 0 } },
  authFailures: 4,
  authBlocks: { sources: 1, accounts: 2 },
};

describe("GET /metrics", () => {
  let api: TestApi;
  let scrapes = 0;
  before(async () => {
    api = await testApi({
      deps: {
        metricsToken: METRICS_TOKEN,
        pbx: {
          registrations: async () => [],
          calls: () => [],
          metrics: async () => {
            scrapes++;
            return snapshot;
          },
        },
      },
    });
    await seedCompanies(api.app);
  });
  after(() => api.close());

  const scrape = (token?: string) => call(api.app, "GET", "/metrics", token === undefined ? {} : { token });

  test("its own token only: none, a wrong one, the admin token or an API token get 401", async () => {
    const apiToken = await addToken(api.app, "acme");
    for (const token of [undefined, "wrong-token-0123456789", ADMIN_TOKEN, apiToken]) {
      const r = await scrape(token);
      assert.equal(r.status, 401, String(token));
      assert.equal(r.headers["www-authenticate"], 'Bearer realm="vpbx-metrics"');
      assert.match(r.body.error.message, /VPBX_METRICS_TOKEN/);
    }
    assert.equal(scrapes, 0, "the PBX is not read for a refused scrape");
  });

  test("the PBX's metrics and the process's, once per scrape", async () => {
    const r = await scrape(METRICS_TOKEN);
    assert.equal(r.status, 200, r.raw);
    assert.match(String(r.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
    assert.equal(scrapes, 1);
    const lines = new Set(r.raw.split("\n"));
    for (const expected of [
      'vpbx_registrations{tenant="acme"} 2',
      'vpbx_registrations{tenant="bistro"} 0',
      'vpbx_calls_in_progress{tenant="acme"} 1',
      'vpbx_calls_in_progress{tenant="bistro"} 0',
      'vpbx_calls_total{tenant="acme",outcome="answered"} 3',
      'vpbx_calls_total{tenant="acme",outcome="voicemail"} 1',
      'vpbx_calls_total{tenant="bistro",outcome="busy"} 2',
      'vpbx_sip_error_responses_total{status="401"} 7',
      'vpbx_sip_error_responses_total{status="486"} 2',
      "vpbx_rtp_packets_received_total 1500",
      "vpbx_rtp_packets_sent_total 1490",
      "vpbx_rtp_packets_lost_total 5",
      'vpbx_rtp_packets_dropped_total{reason="foreign"} 3',
      'vpbx_rtp_packets_dropped_total{reason="invalid"} 1',
      'vpbx_rtp_packets_dropped_total{reason="srtp"} 0',
      "vpbx_sip_auth_failures_total 4",
      'vpbx_sip_auth_blocked{kind="source"} 1',
      'vpbx_sip_auth_blocked{kind="account"} 2',
      "# TYPE vpbx_calls_total counter",
      "# TYPE vpbx_registrations gauge",
    ]) {
      assert.ok(lines.has(expected), `missing: ${expected}`);
    }
    assert.match(r.raw, /^nodejs_eventloop_lag_seconds \d/m, "the event-loop delay");
    assert.match(r.raw, /^process_resident_memory_bytes \d/m);
  });

  test("values follow the PBX from one scrape to the next; a series that is gone goes", async () => {
    const saved = structuredClone(snapshot);
    snapshot.callsInProgress = [];
    snapshot.callsEnded = [{ tenant: "acme", outcome: "answered", count: 4 }];
    try {
      const r = await scrape(METRICS_TOKEN);
      assert.match(r.raw, /^vpbx_calls_total\{tenant="acme",outcome="answered"\} 4$/m);
      assert.doesNotMatch(r.raw, /outcome="voicemail"/);
      assert.match(r.raw, /^vpbx_calls_in_progress\{tenant="acme"\} 0$/m);
    } finally {
      Object.assign(snapshot, saved);
    }
  });

  test("nothing in prom-client's global registry", async () => {
    assert.equal(
      (await globalRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith("vpbx_")).length,
      0,
    );
  });

  test("not in the API's guard: no session or CSRF needed, and the route is documented as public", async () => {
    const doc = await call(api.app, "GET", "/api/v1/openapi.json");
    assert.ok(doc.body.paths["/metrics"]?.get);
  });
});

describe("GET /metrics without VPBX_METRICS_TOKEN", () => {
  let api: TestApi;
  before(async () => {
    api = await testApi();
  });
  after(() => api.close());

  test("is off: 404 saying how to turn it on, whatever the token", async () => {
    for (const token of [undefined, ADMIN_TOKEN, METRICS_TOKEN]) {
      const r = await call(api.app, "GET", "/metrics", token === undefined ? {} : { token });
      assert.equal(r.status, 404);
      assert.equal(r.body.error.message, "metrics are off: set VPBX_METRICS_TOKEN");
    }
  });
});
