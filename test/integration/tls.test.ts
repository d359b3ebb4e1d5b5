// Issue 13, SIP over TLS (RFC 3261 §26.2, RFC 5630): a harness phone on
// Node's tls registers on the PBX's TLS port, calls a UDP phone and is called
// back on the very connection it registered on, with audio both ways; a sips:
// Contact is kept as written; the PBX presents the self-signed certificate it
// made in its data directory; and plain TCP sent to the TLS port gets
// nothing while the PBX goes on serving; SIGHUP takes a new certificate.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import * as tls from "node:tls";
import { getHeader } from "../../src/sip/message/index.ts";
import { createSelfSignedCertificate } from "../../src/util/tls-certificate.ts";
import { SipPhone as Phone, type SipPhone } from "../harness/sip-phone.ts";
import { Phones } from "../support/phones.ts";
import { audioBothWays } from "../support/talk.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

let pbx: TestPbx;
let tlsPort: number;
const phones = new Phones(() => pbx.sip);
const extra: SipPhone[] = [];

before(async () => {
  pbx = await startTestPbx({ config: { sipTlsPort: 0 } });
  assert.ok(pbx.vpbx.sipTlsPort, "the PBX listens for TLS");
  tlsPort = pbx.vpbx.sipTlsPort;
  await pbx.addTenant("acme", "acme.test");
  for (const n of ["101", "102"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
});

after(async () => {
  await pbx.stop();
});

afterEach(async () => {
  await phones.cleanup();
  for (const p of extra.splice(0)) await p.close();
});

/** A phone of `user` on the TLS port, registered. */
function tlsPhone(user: string): Promise<SipPhone> {
  return phones.registered(user, { transport: "TLS", server: { host: "127.0.0.1", port: tlsPort } });
}

/** The registrations of acme as the API lists them. */
async function registrations() {
  const res = await pbx.api<Array<{ extension: string; contact: string; source: string }>>(
    "GET",
    "/api/v1/tenants/acme/registrations",
  );
  return res.body;
}

/** The INVITEs a phone received and from where (address:port of the socket), from its trace. */
function invitesReceived(phone: SipPhone): string[] {
  return phone.trace.filter((t) => t.dir === "in" && t.text.startsWith("INVITE ")).map((t) => t.peer);
}

test("the PBX presents the self-signed certificate it made in its data directory (0600, folder 0700)", async () => {
  const certFile = join(pbx.dataDir, "tls", "cert.pem");
  assert.equal(statSync(join(pbx.dataDir, "tls")).mode & 0o777, 0o700);
  assert.equal(statSync(certFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(pbx.dataDir, "tls", "key.pem")).mode & 0o777, 0o600);
  const stored = new X509Certificate(readFileSync(certFile));
  assert.ok(stored.checkIP("127.0.0.1"), "names the public address");
  const presented = await new Promise<X509Certificate | undefined>((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false }, () => {
      resolve(s.getPeerX509Certificate());
      s.destroy();
    });
    s.once("error", reject);
  });
  assert.equal(presented?.fingerprint256, stored.fingerprint256);
});

test("SIGHUP reloads the certificate for new connections", async () => {
  const fingerprint = () =>
    new Promise<string | undefined>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false }, () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256);
        s.destroy();
      });
      s.once("error", reject);
    });
  const first = await fingerprint();
  const next = await createSelfSignedCertificate({
    addresses: ["127.0.0.1"],
    hostnames: [],
    now: Date.now(),
  });
  writeFileSync(join(pbx.dataDir, "tls", "key.pem"), next.key);
  writeFileSync(join(pbx.dataDir, "tls", "cert.pem"), next.cert);
  process.emit("SIGHUP");
  const renewed = await fingerprint();
  assert.notEqual(renewed, first);
  assert.equal(renewed, new X509Certificate(next.cert).fingerprint256);
});

test("a TLS phone registers, calls a UDP phone (audio both ways) and is called back on its own connection", async () => {
  const alice = await tlsPhone("101");
  const bob = await phones.registered("102");
  const listed = await registrations();
  const a = listed.find((r) => r.extension === "101");
  assert.match(a?.source ?? "", /^tls:127\.0\.0\.1:\d+$/);
  assert.match(a?.contact ?? "", /;transport=tls$/);

  // 101 (TLS) calls 102 (UDP).
  bob.autoAnswer();
  const out = await alice.call("102");
  await out.waitFor("answered");
  const atBob = await bob.waitForCall();
  await atBob.waitForAck();
  await audioBothWays(out, atBob);
  await out.bye();
  await atBob.waitFor("ended");

  // 102 (UDP) calls 101 back: the INVITE comes on the connection 101 opened
  // to the TLS port (its peer is the PBX's TLS port), not on a new one.
  alice.autoAnswer();
  const back = await bob.call("101");
  await back.waitFor("answered");
  const atAlice = await alice.waitForCall();
  await atAlice.waitForAck();
  assert.deepEqual(invitesReceived(alice), [`127.0.0.1:${tlsPort}`]);
  const via = getHeader(atAlice.request, "Via") ?? "";
  assert.match(via, /^SIP\/2\.0\/TLS /, "the PBX's Via names TLS");
  const contact = getHeader(atAlice.request, "Contact") ?? "";
  await audioBothWays(back, atAlice);
  await atAlice.bye();
  await back.waitFor("ended");
  // A phone sends its ACK and BYE to this Contact: over TLS it must name the TLS port (§26.2).
  assert.match(contact, new RegExp(`^<sip:127\\.0\\.0\\.1:${tlsPort};transport=tls>`));
});

test("a sips: Contact is stored as written, and the phone is called over TLS", async () => {
  const alice = await phones.phone("101", { transport: "TLS", server: { host: "127.0.0.1", port: tlsPort } });
  const contact = `sips:101@127.0.0.1:${alice.localPort}`;
  const res = await alice.register({ expires: 300, contacts: [`<${contact}>`] });
  assert.equal(res.status, 200);
  assert.ok((await registrations()).some((r) => r.extension === "101" && r.contact === contact));
  const bob = await phones.registered("102");
  alice.autoAnswer();
  const call = await bob.call("101");
  await call.waitFor("answered");
  const incoming = await alice.waitForCall();
  await incoming.waitForAck();
  assert.equal(incoming.request.uri.scheme, "sips");
  assert.deepEqual(invitesReceived(alice), [`127.0.0.1:${tlsPort}`]);
  await call.bye();
  await incoming.waitFor("ended");
  assert.equal((await alice.register({ expires: 0, contacts: [`<${contact}>`] })).status, 200);
});

test("plain TCP to the TLS port gets no SIP back, and the PBX goes on", async () => {
  const plain = await Phone.create({
    user: "101",
    password: "secret-101-pw",
    domain: "acme.test",
    server: { host: "127.0.0.1", port: tlsPort },
    transport: "TCP",
    timeoutMs: 1000,
  });
  extra.push(plain);
  await assert.rejects(plain.register({ expires: 300 }), /got no final response/);
  assert.equal(plain.trace.filter((t) => t.dir === "in").length, 0, "nothing that parses as SIP came back");
  // The PBX still serves TLS and UDP phones and its API.
  await tlsPhone("101");
  await phones.registered("102");
  assert.equal((await registrations()).length, 2);
});
