// A trunk over TLS (RFC 5630): calls to the carrier leave on a TLS
// connection whose certificate must name the trunk's host and chain to a
// trusted CA (VPBX_TLS_TRUSTED_CA, beside the system's), and carry SDES keys
// (RFC 4568 §8.3: keys only over a TLS hop), so a carrier that takes SRTP
// encrypts the media; one whose certificate is not trusted gets no call.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { harnessTlsCertificate, type SipPhone } from "../harness/sip-phone.ts";
import { addCarrier } from "../support/carrier.ts";
import { Phones } from "../support/phones.ts";
import { audioBothWays } from "../support/talk.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const dir = mkdtempSync(join(tmpdir(), "vpbx-trunk-tls-"));
const caFile = join(dir, "carrier-ca.pem");

/** A PBX with the company acme and its phone 101, trunk "carrier" over TLS to `carrier`. */
async function pbxWithTlsTrunk(
  config: Record<string, unknown>,
): Promise<{ pbx: TestPbx; carrier: SipPhone }> {
  const pbx = await startTestPbx({ config: { sipTlsPort: 0, ...config } });
  await pbx.addTenant("acme", "acme.test");
  await pbx.addExtension("acme", "101", "secret-101-pw", "Ext 101");
  const tlsPort = pbx.vpbx.sipTlsPort;
  assert.ok(tlsPort, "the PBX listens for TLS");
  // The carrier: SIP over TLS, SRTP when offered.
  const carrier = await addCarrier(pbx, {
    transport: "tls",
    server: { host: "127.0.0.1", port: tlsPort },
    srtp: true,
  });
  return { pbx, carrier };
}

before(async () => {
  // The harness carrier's certificate is self-signed (its own CA) and names 127.0.0.2.
  writeFileSync(caFile, (await harnessTlsCertificate()).cert);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("a trunk over TLS with a trusted certificate", () => {
  let pbx: TestPbx;
  let carrier: SipPhone;
  const phones = new Phones(() => pbx.sip);

  before(async () => {
    ({ pbx, carrier } = await pbxWithTlsTrunk({ tlsTrustedCaFile: caFile }));
  });
  after(async () => {
    await phones.cleanup();
    await carrier.close();
    await pbx.stop();
  });

  test("an outgoing call reaches the carrier over TLS with SDES keys, and the audio is SRTP both ways", async () => {
    const alice = await phones.registered("101");
    carrier.autoAnswer();
    const call = await alice.call("0791231212");
    await call.waitFor("answered");
    const out = await carrier.waitForCall();
    assert.equal(out.request.uri.user, "+41791231212");
    const via = out.request.headers.find((h) => h.name.toLowerCase() === "via")?.value ?? "";
    assert.match(via, /^SIP\/2\.0\/TLS /, "the INVITE came over TLS");
    const offer = out.request.body.toString();
    assert.match(offer, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:/m, "keys are offered over TLS");
    await out.waitForAck();
    await audioBothWays(call, out);
    assert.ok(out.rtp?.srtp, "the carrier's media is SRTP");
    await call.bye();
    await out.waitFor("ended");
  });

  test("the API shows the trunk's transport", async () => {
    const t = await pbx.api<{ transport: string; registration: { state: string } }>(
      "GET",
      "/api/v1/trunks/carrier",
    );
    assert.equal(t.body.transport, "tls");
    assert.equal(t.body.registration.state, "disabled");
  });
});

describe("a trunk over TLS whose certificate nobody vouches for", () => {
  test("gets no call: the TLS handshake fails and the caller hears a failure", async () => {
    const { pbx, carrier } = await pbxWithTlsTrunk({});
    const phones = new Phones(() => pbx.sip);
    try {
      const alice = await phones.registered("101");
      carrier.autoAnswer();
      const call = await alice.call("0791231212");
      const end = await call.waitFor("ended", 40_000);
      assert.equal(end.reason, "rejected", `the call fails (${end.reason} ${end.status})`);
      assert.ok((end.status ?? 0) >= 400);
      assert.equal(carrier.incomingCalls.length, 0, "the carrier got no INVITE");
    } finally {
      await phones.cleanup();
      await carrier.close();
      await pbx.stop();
    }
  });
});
