// Issue 13, SIP over WebSocket (RFC 7118): a harness phone that behaves as
// JsSIP does in a browser (one WebSocket to /sip with the subprotocol sip, a
// `.invalid` Via host and Contact) registers with its digest, calls a UDP
// phone with audio both ways (plain RTP from the harness), and is called
// back over its WebSocket with a WebRTC offer (a phone on a WebSocket is a
// browser; webrtc-calls.test.ts answers with a real one); once its WebSocket is gone a
// call to it gets 480 at once. The upgrade without the subprotocol is
// refused, the TCP caps count WebSockets, garbage gets a 400 or nothing.
// The same once more over HTTPS (VPBX_HTTP_TLS=on): WSS, and the HTTPS
// certificate follows a SIGHUP.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import * as net from "node:net";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import * as tls from "node:tls";
import { getHeader } from "../../src/sip/message/index.ts";
import { createSelfSignedCertificate } from "../../src/util/tls-certificate.ts";
import type { SipPhone } from "../harness/sip-phone.ts";
import { openWebSocket, WebSocketRefused, type WsClient } from "../harness/web-socket-client.ts";
import { Phones } from "../support/phones.ts";
import { audioBothWays } from "../support/talk.ts";
import { ADMIN_TOKEN, startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const PER_SOURCE = 4;

/** The registrations of acme as the API lists them. */
type Registration = { extension: string; contact: string; source: string };

/** The peers (address:port) INVITEs came from, as the phone's trace has them. */
function invitesReceived(phone: SipPhone): string[] {
  return phone.trace.filter((t) => t.dir === "in" && t.text.startsWith("INVITE ")).map((t) => t.peer);
}

/** Our offer to a browser (RFC 8829 media: ICE-lite, DTLS-SRTP as either side, rtcp-mux). */
function assertWebRtcOffer(sdp: string): void {
  assert.match(sdp, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
  assert.match(sdp, /^a=ice-lite/m);
  assert.match(sdp, /^a=setup:actpass/m);
  assert.match(sdp, /^a=fingerprint:sha-256 /m);
  assert.match(sdp, /^a=rtcp-mux/m);
}

/** Resolves with the next text of `ws`, or undefined when none comes within `ms`. */
function nextMessage(ws: WsClient, ms = 500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.off("message", onMessage);
      resolve(undefined);
    }, ms);
    const onMessage = (data: Buffer) => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      resolve(data.toString("utf8"));
    };
    ws.on("message", onMessage);
  });
}

/** Resolves with the close code of `ws`, or undefined when it is still open after `ms`. */
function closeCode(ws: WsClient, ms = 2000): Promise<number | undefined> {
  if (ws.readyState === 3) return Promise.resolve(1006);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    ws.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function options(branch: string, cseq = "1 OPTIONS"): string {
  return [
    "OPTIONS sip:acme.test SIP/2.0",
    `Via: SIP/2.0/WS q1w2e3.invalid;branch=z9hG4bK${branch}`,
    "Max-Forwards: 70",
    "From: <sip:101@acme.test>;tag=o1",
    "To: <sip:acme.test>",
    `Call-ID: ws-options-${branch}`,
    `CSeq: ${cseq}`,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

describe("SIP over WebSocket (ws://…/sip)", () => {
  let pbx: TestPbx;
  const phones = new Phones(() => pbx.sip);
  const sockets: WsClient[] = [];
  const tcp: net.Socket[] = [];
  let url: string;

  before(async () => {
    pbx = await startTestPbx({ config: { tcpMaxPerSource: PER_SOURCE } });
    url = `ws://127.0.0.1:${pbx.vpbx.httpPort}/sip`;
    await pbx.addTenant("acme", "acme.test");
    for (const n of ["101", "102", "103", "104"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
  });
  after(async () => {
    await pbx.stop();
  });
  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    for (const s of tcp.splice(0)) s.destroy();
    await phones.cleanup();
  });

  /** A browser phone of `user` on the PBX's HTTP port, registered. */
  function wsPhone(user: string): Promise<SipPhone> {
    return phones.registered(user, {
      transport: "WS",
      server: { host: "127.0.0.1", port: pbx.vpbx.httpPort },
    });
  }

  async function registrations(): Promise<Registration[]> {
    return (await pbx.api<Registration[]>("GET", "/api/v1/tenants/acme/registrations")).body;
  }

  test("the upgrade needs the subprotocol sip (RFC 7118 §4), at /sip, and no admin token", async () => {
    for (const offered of [[], ["chat"]]) {
      const refused = await openWebSocket(url, offered).then(
        () => assert.fail("upgraded without sip"),
        (err: unknown) => err,
      );
      assert.ok(refused instanceof WebSocketRefused, String(refused));
      assert.equal(refused.status, 400);
      assert.match(refused.body, /subprotocol sip/);
    }
    const elsewhere = await openWebSocket(`ws://127.0.0.1:${pbx.vpbx.httpPort}/api/v1/tenants`, ["sip"]).then(
      () => assert.fail("upgraded at another path"),
      (err: unknown) => err,
    );
    assert.ok(elsewhere instanceof WebSocketRefused);
    assert.equal(elsewhere.status, 404);
    // Offered among others, sip is the one agreed.
    const ws = await openWebSocket(url, ["chat", "sip"]);
    sockets.push(ws);
    assert.equal(ws.protocol, "sip");
    // The API itself still wants its token, and a plain GET /sip is no API.
    const res = await fetch(`http://127.0.0.1:${pbx.vpbx.httpPort}/api/v1/tenants`);
    assert.equal(res.status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${pbx.vpbx.httpPort}/sip`)).status, 404);
  });

  test("a browser phone registers with its digest; the binding's source is its WebSocket", async () => {
    const alice = await wsPhone("101");
    // The first REGISTER was challenged: the same digest as any phone.
    assert.ok(alice.trace.some((t) => t.dir === "in" && t.text.startsWith("SIP/2.0 401 ")));
    const a = (await registrations()).find((r) => r.extension === "101");
    assert.match(a?.source ?? "", /^ws:127\.0\.0\.1:\d+$/);
    assert.match(a?.contact ?? "", /^sip:[0-9a-f]+@[0-9a-f]+\.invalid;transport=ws$/);
  });

  test("it calls a UDP phone and is called back over its WebSocket, audio both ways", async () => {
    const alice = await wsPhone("101");
    const bob = await phones.registered("102");

    bob.autoAnswer();
    const out = await alice.call("102");
    await out.waitFor("answered");
    const atBob = await bob.waitForCall();
    await atBob.waitForAck();
    await audioBothWays(out, atBob);
    await out.bye();
    await atBob.waitFor("ended");

    // A phone on a WebSocket is a browser: it is offered WebRTC media
    // (webrtc-calls.test.ts talks to a real one); this one only looks.
    const back = await bob.call("101");
    const atAlice = await alice.waitForCall();
    assertWebRtcOffer(atAlice.request.body.toString());
    // Over its one WebSocket (the harness records the server as the peer of everything on it).
    assert.deepEqual(invitesReceived(alice), [`127.0.0.1:${pbx.vpbx.httpPort}`]);
    assert.match(atAlice.request.uri.host, /\.invalid$/, "the Request-URI is the contact as registered");
    const via = getHeader(atAlice.request, "Via") ?? "";
    assert.match(via, new RegExp(`^SIP/2\\.0/WS 127\\.0\\.0\\.1:${pbx.vpbx.httpPort};`));
    const contact = getHeader(atAlice.request, "Contact") ?? "";
    assert.match(contact, new RegExp(`^<sip:127\\.0\\.0\\.1:${pbx.vpbx.httpPort};transport=ws>`));
    await back.cancel();
    assert.equal((await back.waitFor(487)).status, 487);
  });

  test("once its WebSocket is closed, a call to it gets 480 at once", async () => {
    const carol = await wsPhone("103");
    await carol.closeWebSocket();
    const bob = await phones.registered("102");
    const started = Date.now();
    const call = await bob.call("103");
    const res = await call.waitFor(480, 15_000);
    assert.equal(res.status, 480);
    // Not a transaction timeout (32 s) nor a DNS lookup of `.invalid`: the
    // time is the spoken reason's before the 480.
    assert.ok(Date.now() - started < 15_000);
    assert.equal(carol.incomingCalls.length, 0);
    // A new WebSocket and REGISTER make it reachable again (and tidy its binding).
    const again = await wsPhone("103");
    assert.equal((await again.register({ contacts: "*", expires: 0 })).status, 200);
  });

  test("WebSockets count against the connection caps with TCP, per source", async () => {
    // From 127.0.0.5: two TCP connections to the SIP port and two WebSockets fill the source's cap.
    for (let i = 0; i < 2; i++) {
      const s = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect({ host: "127.0.0.1", port: pbx.sip.port, localAddress: "127.0.0.5" }, () =>
          resolve(c),
        );
        c.once("error", reject);
      });
      s.resume();
      tcp.push(s);
    }
    const allowed: WsClient[] = [];
    for (let i = 0; i < PER_SOURCE - 2; i++) {
      const ws = await openWebSocket(url, ["sip"], { localAddress: "127.0.0.5" });
      sockets.push(ws);
      allowed.push(ws);
    }
    // The next one is upgraded by the HTTP server and dropped at once by the transport.
    const beyond = await openWebSocket(url, ["sip"], { localAddress: "127.0.0.5" });
    sockets.push(beyond);
    assert.equal(await closeCode(beyond), 1006, "closed without a word");
    for (const ws of allowed) assert.equal(ws.readyState, 1, "the others stay");
    // Another source is not concerned.
    const other = await openWebSocket(url, ["sip"], { localAddress: "127.0.0.6" });
    sockets.push(other);
    assert.equal(await closeCode(other, 300), undefined);
  });

  test("garbage gets no answer, a broken request a 400, too large a message a close; the PBX goes on", async () => {
    const ws = await openWebSocket(url, ["sip"]);
    sockets.push(ws);
    ws.send("garbage that is no SIP\r\n\r\n");
    assert.equal(await nextMessage(ws), undefined);
    ws.send(options("broken", "one OPTIONS"));
    assert.match((await nextMessage(ws, 2000)) ?? "", /^SIP\/2\.0 400 /);
    // RFC 5626 §4.4.1 as SIP.js sends it: a double CRLF is answered with one.
    ws.send("\r\n\r\n");
    assert.equal(await nextMessage(ws, 2000), "\r\n");
    ws.send(options("fine"));
    assert.match((await nextMessage(ws, 2000)) ?? "", /^SIP\/2\.0 200 /);
    // Over the size limit: the WebSocket closes with 1009 (RFC 6455 §7.4.1).
    ws.send(options("big").replace("Content-Length: 0", `X-Big: ${"x".repeat(70_000)}\r\nContent-Length: 0`));
    assert.equal(await closeCode(ws), 1009);
    // Everybody else is served as before.
    await wsPhone("104");
    await phones.registered("102");
    assert.equal((await fetch(`http://127.0.0.1:${pbx.vpbx.httpPort}/health`)).status, 200);
  });
});

describe("SIP over secure WebSocket (VPBX_HTTP_TLS=on)", () => {
  let pbx: TestPbx;
  const phones = new Phones(() => pbx.sip);

  /** The REST API over HTTPS, the self-signed certificate not verified. */
  function api(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: pbx.vpbx.httpPort,
          method,
          path,
          rejectUnauthorized: false,
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.once("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** The certificate the HTTPS port presents now. */
  function presented(): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: pbx.vpbx.httpPort, rejectUnauthorized: false }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256);
        s.destroy();
      });
      s.once("error", reject);
    });
  }

  before(async () => {
    pbx = await startTestPbx({ config: { httpTls: true } });
    assert.equal(pbx.vpbx.sipTlsPort, undefined, "HTTPS without a SIP over TLS listener");
    assert.equal((await api("POST", "/api/v1/tenants", { name: "acme", domain: "acme.test" })).status, 201);
    for (const n of ["101", "102"]) {
      const res = await api("POST", "/api/v1/tenants/acme/extensions", {
        number: n,
        password: `secret-${n}-pw`,
        displayName: `Ext ${n}`,
      });
      assert.equal(res.status, 201, res.text);
    }
  });
  after(async () => {
    await phones.cleanup();
    await pbx.stop();
  });

  test("a browser phone on wss:// registers, calls and is called back, with WSS in Via and Contact", async () => {
    const refused = await openWebSocket(`wss://127.0.0.1:${pbx.vpbx.httpPort}/sip`, []).then(
      () => assert.fail("upgraded without sip"),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof WebSocketRefused && refused.status === 400);

    const alice = await phones.registered("101", {
      transport: "WSS",
      server: { host: "127.0.0.1", port: pbx.vpbx.httpPort },
    });
    const listed = JSON.parse(
      (await api("GET", "/api/v1/tenants/acme/registrations")).text,
    ) as Registration[];
    assert.match(listed.find((r) => r.extension === "101")?.source ?? "", /^wss:127\.0\.0\.1:\d+$/);
    const bob = await phones.registered("102");

    bob.autoAnswer();
    const out = await alice.call("102");
    await out.waitFor("answered");
    const atBob = await bob.waitForCall();
    await atBob.waitForAck();
    await audioBothWays(out, atBob);
    await out.bye();
    await atBob.waitFor("ended");

    const back = await bob.call("101");
    const atAlice = await alice.waitForCall();
    assertWebRtcOffer(atAlice.request.body.toString());
    const port = pbx.vpbx.httpPort;
    assert.match(
      getHeader(atAlice.request, "Via") ?? "",
      new RegExp(`^SIP/2\\.0/WSS 127\\.0\\.0\\.1:${port};`),
    );
    assert.match(
      getHeader(atAlice.request, "Contact") ?? "",
      new RegExp(`^<sip:127\\.0\\.0\\.1:${port};transport=wss>`),
    );
    await back.cancel();
    assert.equal((await back.waitFor(487)).status, 487);
  });

  test("the HTTPS port presents the certificate of SIP over TLS and takes a new one on SIGHUP", async () => {
    const first = await presented();
    const made = new X509Certificate(readFileSync(join(pbx.dataDir, "tls", "cert.pem")));
    assert.equal(first, made.fingerprint256, "the self-signed certificate made in the data directory");
    const next = await createSelfSignedCertificate({
      addresses: ["127.0.0.1"],
      hostnames: [],
      now: Date.now(),
    });
    writeFileSync(join(pbx.dataDir, "tls", "key.pem"), next.key);
    writeFileSync(join(pbx.dataDir, "tls", "cert.pem"), next.cert);
    process.emit("SIGHUP");
    assert.equal(await presented(), new X509Certificate(next.cert).fingerprint256);
    assert.equal((await api("GET", "/health")).status, 200);
  });
});
