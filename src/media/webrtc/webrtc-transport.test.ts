// The WebRTC leg against a stand-in browser on an in-memory network: its
// ICE checks are our own STUN encoder's, its DTLS client is werift's (the
// library we run as server, here on the other side), its SRTP our
// SrtpTransform with the client's half of the keys. The real browser is in
// test/integration/webrtc-media.test.ts.
import assert from "node:assert/strict";
import { randomBytes, X509Certificate } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { FakeClock } from "../../util/clock.ts";
import { SrtpTransform } from "../rtp/srtp-transform.ts";
import { waitFor } from "../rtp/testing.ts";
import type { DatagramPort, RemoteAddress } from "./datagram-port.ts";
import { classifyPacket } from "./demux.ts";
import {
  certificateFingerprint,
  type DtlsCertificate,
  type DtlsFingerprint,
  processDtlsCertificate,
} from "./dtls-certificate.ts";
import { DTLS_SRTP_EXPORTER_LABEL, keyingMaterialLength, splitDtlsSrtpKeys } from "./dtls-srtp-keys.ts";
import { decodeStun, encodeStun, STUN_BINDING, StunAttr, StunClass } from "./stun-message.ts";
import type { WebRtcRemoteParameters } from "./webrtc-sdp.ts";
import { type WebRtcFailure, WebRtcTransport } from "./webrtc-transport.ts";
import { CipherContext, DtlsClient, type WeriftTransport } from "./werift-dtls.ts";

const PBX: RemoteAddress = { address: "203.0.113.5", port: 40000 };
const BROWSER: RemoteAddress = { address: "198.51.100.7", port: 51000 };
const BROWSER_WIFI: RemoteAddress = { address: "198.51.100.8", port: 52000 };
const BROWSER_UFRAG = "brow";

/** UDP between in-memory endpoints: delivery on a later turn of the event loop, like a socket. */
class Network {
  private readonly handlers = new Map<string, (msg: Buffer, from: RemoteAddress) => void>();
  /** Every datagram sent, for the tests that look at what went where. */
  readonly log: { from: RemoteAddress; to: RemoteAddress; data: Buffer }[] = [];

  port(self: RemoteAddress): DatagramPort {
    return {
      send: (buf, port, address) => this.deliver(self, { address, port }, buf),
      onMessage: (handler) => {
        this.handlers.set(key(self), handler);
        return () => this.handlers.delete(key(self));
      },
    };
  }

  deliver(from: RemoteAddress, to: RemoteAddress, data: Buffer): void {
    this.log.push({ from, to, data: Buffer.from(data) });
    const copy = Buffer.from(data);
    setImmediate(() => this.handlers.get(key(to))?.(copy, from));
  }
}

const key = (a: RemoteAddress) => `${a.address}|${a.port}`;

interface BrowserCertificate {
  certPem: string;
  keyPem: string;
  fingerprint: DtlsFingerprint;
}

async function browserCertificate(): Promise<BrowserCertificate> {
  const c = await CipherContext.createSelfSignedCertificateWithKey({ hash: 4, signature: 3 }, 23);
  const der = new X509Certificate(c.certPem).raw;
  return { ...c, fingerprint: { algorithm: "sha-256", value: certificateFingerprint(der, "sha-256") } };
}

/** A browser: ICE checks from its addresses, a werift DTLS client, SRTP with the client's keys. */
class FakeBrowser {
  readonly received: Buffer[] = [];
  readonly stunResponses: Buffer[] = [];
  client: DtlsClient | undefined;
  srtp: SrtpTransform | undefined;
  connected = false;
  /** Why werift's client gave up (its flight went unanswered), if it did. */
  dtlsError: unknown;
  private readonly dtlsTransport: WeriftTransport;

  constructor(
    private readonly net: Network,
    private readonly cert: { certPem: string; keyPem: string },
    private readonly from = BROWSER,
  ) {
    for (const a of [BROWSER, BROWSER_WIFI]) {
      net.port(a).onMessage((msg) => this.receive(msg));
    }
    this.dtlsTransport = {
      type: "udp",
      address: { address: from.address, family: "IPv4", port: from.port },
      closed: false,
      onData: () => {},
      send: async (data: Buffer) => this.net.deliver(this.from, PBX, data),
      close: async () => {},
    };
  }

  check(
    transport: WebRtcTransport,
    opts: { useCandidate?: boolean; from?: RemoteAddress; ufrag?: string } = {},
  ): void {
    const attributes: { type: number; value: Buffer }[] = [
      {
        type: StunAttr.USERNAME,
        value: Buffer.from(`${transport.ice.ufrag}:${opts.ufrag ?? BROWSER_UFRAG}`),
      },
      { type: StunAttr.PRIORITY, value: Buffer.from([0x6e, 0, 0x1e, 0xff]) },
      { type: StunAttr.ICE_CONTROLLING, value: randomBytes(8) },
    ];
    if (opts.useCandidate ?? true) attributes.push({ type: StunAttr.USE_CANDIDATE, value: Buffer.alloc(0) });
    const request = encodeStun(
      { method: STUN_BINDING, cls: StunClass.request, transactionId: randomBytes(12), attributes },
      { integrityKey: Buffer.from(transport.ice.pwd), fingerprint: true },
    );
    this.net.deliver(opts.from ?? this.from, PBX, request);
  }

  /** Starts the handshake (ClientHello); the rest runs as datagrams arrive. */
  connectDtls(profiles: (1 | 7)[] = [1, 7]): void {
    const client = new DtlsClient({
      transport: this.dtlsTransport,
      cert: this.cert.certPem,
      key: this.cert.keyPem,
      signatureHash: { hash: 4, signature: 3 },
      srtpProfiles: profiles,
      extendedMasterSecret: true,
    });
    this.client = client;
    client.onConnect.subscribe(() => {
      this.connected = true;
      const profile = client.srtp.srtpProfile === 7 ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80";
      const material = client.exportKeyingMaterial(DTLS_SRTP_EXPORTER_LABEL, keyingMaterialLength(profile));
      this.srtp = new SrtpTransform(splitDtlsSrtpKeys(material, profile, "client"));
    });
    client.connect().catch((err: unknown) => {
      this.dtlsError = err;
    });
  }

  /** Ends werift's retransmissions of a flight that will never be answered (they run on real timers). */
  stop(): void {
    if (this.client) this.client.dtls.flight = 99;
    this.dtlsTransport.closed = true;
  }

  sendRtp(seq: number, from = this.from): void {
    const wire = this.srtp!.protectRtp(rtp(seq), 0, 172)!;
    this.net.deliver(from, PBX, wire);
  }

  private receive(msg: Buffer): void {
    const kind = classifyPacket(msg);
    if (kind === "stun") this.stunResponses.push(msg);
    else if (kind === "dtls") this.dtlsTransport.onData(msg, ["0.0.0.0", 0]);
    else if (kind === "rtp" && this.srtp) {
      const n = this.srtp.unprotectRtp(msg, msg.length);
      if (n !== undefined) this.received.push(msg.subarray(0, n));
    }
  }
}

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(172, seq & 0xff);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(0xb0b0b0b0, 8);
  return b;
}

function remoteOf(fingerprint: DtlsFingerprint): WebRtcRemoteParameters {
  return {
    ice: { ufrag: BROWSER_UFRAG, pwd: "browserPasswordOf22+/chars", lite: false },
    fingerprints: [fingerprint],
    setup: "actpass",
    candidates: [],
    ssrcs: [],
  };
}

describe("WebRtcTransport against a stand-in browser", () => {
  let ours: DtlsCertificate;
  let theirs: BrowserCertificate;
  let impostor: BrowserCertificate;
  const browsers: FakeBrowser[] = [];

  before(async () => {
    ours = await processDtlsCertificate();
    theirs = await browserCertificate();
    impostor = await browserCertificate();
  });

  after(() => {
    for (const b of browsers) b.stop();
  });

  function setup(
    opts: {
      cert?: { certPem: string; keyPem: string };
      remote?: boolean;
      profiles?: ("AES_CM_128_HMAC_SHA1_80" | "AEAD_AES_128_GCM")[];
    } = {},
  ) {
    const net = new Network();
    const clock = new FakeClock();
    const transport = new WebRtcTransport({
      port: net.port(PBX),
      localAddress: PBX.address,
      localPort: PBX.port,
      certificate: ours,
      clock,
      profiles: opts.profiles,
    });
    const failures: WebRtcFailure[] = [];
    transport.onFailed = (f) => failures.push(f);
    if (opts.remote ?? true) transport.setRemoteParameters(remoteOf(theirs.fingerprint));
    const browser = new FakeBrowser(net, opts.cert ?? theirs);
    browsers.push(browser);
    return { net, clock, transport, browser, failures };
  }

  test("a check, then DTLS: connected, the keys agree, SRTP and SRTCP cross both ways", async () => {
    const { net, transport, browser, failures } = setup();
    let connectedTo: RemoteAddress | undefined;
    transport.onConnected = (c) => {
      connectedTo = c.remote;
    };
    const plain: Buffer[] = [];
    transport.onPacket = (buf, len) => plain.push(Buffer.from(buf.subarray(0, len)));
    let rtcpIn = 0;
    transport.onRtcp = () => rtcpIn++;

    browser.check(transport);
    await waitFor(() => browser.stunResponses.length === 1);
    assert.equal(decodeStun(browser.stunResponses[0])?.cls, StunClass.success);
    browser.connectDtls();
    await waitFor(() => transport.state === "connected" && browser.connected, 5000);
    assert.deepEqual(failures, []);
    assert.deepEqual(connectedTo, BROWSER);
    assert.equal(transport.connected?.profile, "AES_CM_128_HMAC_SHA1_80");

    browser.sendRtp(1);
    browser.sendRtp(2);
    await waitFor(() => plain.length === 2);
    assert.deepEqual(plain[1], rtp(2), "decrypted to the browser's plain packet");
    assert.equal(transport.counters.packetsIn, 2);

    assert.ok(transport.send(rtp(7), 0, 172));
    await waitFor(() => browser.received.length === 1);
    assert.deepEqual(browser.received[0], rtp(7));
    const sentRtp = net.log.filter((d) => key(d.from) === key(PBX) && classifyPacket(d.data) === "rtp");
    assert.ok(
      sentRtp.every((d) => key(d.to) === key(BROWSER)),
      "media goes to the nominated pair",
    );

    // SRTCP on the same port (rtcp-mux): an RR from the browser.
    const rr = Buffer.from([0x80, 201, 0, 1, 0xb0, 0xb0, 0xb0, 0xb0]);
    const wire = browser.srtp!.protectRtcp(rr, 0, rr.length)!;
    net.deliver(BROWSER, PBX, wire);
    await waitFor(() => rtcpIn === 1);
    assert.ok(transport.sendRtcp(rr, 0, rr.length));
    assert.equal(transport.counters.rtcpOut, 1);
    transport.close();
    assert.equal(transport.state, "closed");
    assert.equal(transport.send(rtp(8), 0, 172), false);
  });

  test("AEAD_AES_128_GCM when it is the only profile we take", async () => {
    const { transport, browser } = setup({ profiles: ["AEAD_AES_128_GCM"] });
    browser.check(transport);
    await waitFor(() => browser.stunResponses.length === 1);
    browser.connectDtls();
    await waitFor(() => transport.state === "connected" && browser.connected, 5000);
    assert.equal(transport.connected?.profile, "AEAD_AES_128_GCM");
    let got = 0;
    transport.onPacket = () => got++;
    browser.sendRtp(1);
    await waitFor(() => got === 1);
    transport.close();
  });

  test("a certificate that does not match the SDP's fingerprint: failed, and no Finished sent", async () => {
    const { net, transport, browser, failures } = setup({ cert: impostor });
    browser.check(transport);
    await waitFor(() => browser.stunResponses.length === 1);
    browser.connectDtls();
    await waitFor(() => failures.length === 1, 5000);
    assert.equal(failures[0].reason, "fingerprint");
    assert.equal(transport.state, "failed");
    assert.equal(transport.connected, undefined);
    assert.equal(transport.failed, failures[0]);
    // Our ChangeCipherSpec + Finished never left: the impostor never completes.
    const ccs = net.log.filter((d) => key(d.from) === key(PBX) && d.data[0] === 20);
    assert.equal(ccs.length, 0);
    assert.equal(browser.connected, false);
    browser.stop();
  });

  test("a client presenting the browser's certificate without its key fails CertificateVerify", async () => {
    // The certificate is the one whose fingerprint the SDP carries; the key is someone else's.
    const { transport, browser, failures } = setup({
      cert: { certPem: theirs.certPem, keyPem: impostor.keyPem },
    });
    browser.check(transport);
    await waitFor(() => browser.stunResponses.length === 1);
    browser.connectDtls();
    await waitFor(() => failures.length === 1, 5000);
    assert.equal(failures[0].reason, "certificate-verify");
    assert.equal(transport.connected, undefined);
    browser.stop();
  });

  test("DTLS and SRTP from an address that passed no ICE check are dropped", async () => {
    const { net, transport, browser } = setup();
    browser.connectDtls();
    await waitFor(() => transport.counters.unvalidatedDropped >= 1);
    assert.equal(net.log.filter((d) => key(d.from) === key(PBX)).length, 0, "nothing answered");
    net.deliver(BROWSER, PBX, rtp(1));
    await waitFor(() => transport.counters.unvalidatedDropped >= 2);
    browser.stop();
    transport.close();
  });

  test("no browser within the handshake deadline: failed on the clock, and the relay is told", async () => {
    const { clock, transport, failures } = setup();
    let relayTold: Error | undefined;
    transport.onFailure = (err) => {
      relayTold = err;
    };
    await clock.advance(14_999);
    assert.equal(transport.state, "connecting");
    await clock.advance(1);
    assert.equal(transport.state, "failed");
    assert.equal(failures[0].reason, "timeout");
    assert.match(failures[0].message, /no authenticated ICE check/);
    assert.equal(relayTold, failures[0]);
  });

  test("consent (RFC 7675): checks every 5 s keep the leg; 30 s of silence fails it", async () => {
    const { clock, transport, browser, failures } = setup();
    browser.check(transport);
    await waitFor(() => browser.stunResponses.length === 1);
    browser.connectDtls();
    await waitFor(() => transport.state === "connected", 5000);
    for (let i = 0; i < 10; i++) {
      await clock.advance(5000);
      browser.check(transport, { useCandidate: false });
      await waitFor(() => browser.stunResponses.length === i + 2);
    }
    assert.equal(transport.state, "connected");
    await clock.advance(29_999);
    assert.equal(transport.state, "connected");
    await clock.advance(1);
    assert.equal(transport.state, "failed");
    assert.equal(failures[0].reason, "consent");
  });

  test("the browser nominates another pair: media follows it", async () => {
    const { net, transport, browser } = setup();
    browser.check(transport);
    await waitFor(() => browser.stunResponses.length === 1);
    browser.connectDtls();
    await waitFor(() => transport.state === "connected", 5000);
    // A check without USE-CANDIDATE validates the pair but does not move media.
    browser.check(transport, { from: BROWSER_WIFI, useCandidate: false });
    await waitFor(() => browser.stunResponses.length === 2);
    transport.send(rtp(1), 0, 172);
    browser.check(transport, { from: BROWSER_WIFI });
    await waitFor(() => browser.stunResponses.length === 3);
    transport.send(rtp(2), 0, 172);
    const to = net.log
      .filter((d) => key(d.from) === key(PBX) && classifyPacket(d.data) === "rtp")
      .map((d) => key(d.to));
    assert.deepEqual(to, [key(BROWSER), key(BROWSER_WIFI)]);
    assert.deepEqual(transport.connected?.remote, BROWSER_WIFI);
    // SRTP from the new pair is taken too.
    let got = 0;
    transport.onPacket = () => got++;
    browser.sendRtp(5, BROWSER_WIFI);
    await waitFor(() => got === 1);
    transport.close();
  });

  test("early checks and DTLS before the browser's answer: keys wait for its fingerprint", async () => {
    const { transport, browser } = setup({ remote: false });
    browser.check(transport, { ufrag: "whatever" });
    await waitFor(() => browser.stunResponses.length === 1);
    assert.equal(decodeStun(browser.stunResponses[0])?.cls, StunClass.success);
    browser.connectDtls();
    await waitFor(() => browser.connected, 5000);
    assert.equal(transport.state, "new", "no keys before the fingerprint is known");
    transport.setRemoteParameters(remoteOf(theirs.fingerprint));
    assert.equal(transport.state, "connected");
    transport.close();
  });

  test("the same remote parameters again change nothing; an ICE restart is refused", () => {
    const { transport } = setup();
    transport.setRemoteParameters(remoteOf(theirs.fingerprint));
    const restart = remoteOf(theirs.fingerprint);
    restart.ice = { ...restart.ice, ufrag: "new1" };
    assert.throws(() => transport.setRemoteParameters(restart), RangeError);
    assert.throws(() => transport.setRemoteParameters(remoteOf(impostor.fingerprint)), RangeError);
    transport.close();
  });

  test("garbage on the port is counted and dropped; nothing is sent before keys", async () => {
    const { net, transport } = setup();
    browsers.at(-1)!.check(transport);
    await waitFor(() => transport.counters.stunAuthenticated === 1);
    net.deliver(BROWSER, PBX, Buffer.from([0x40, 1, 2, 3]));
    net.deliver(BROWSER, PBX, rtp(1));
    net.deliver(BROWSER, PBX, Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0])); // a truncated DTLS record
    net.deliver(BROWSER, PBX, Buffer.from([0x00, 0x01, 0x00]));
    await waitFor(
      () => transport.counters.beforeKeysDropped === 1 && transport.counters.unknownDropped === 1,
    );
    assert.equal(transport.counters.stunRejected, 1);
    assert.equal(transport.send(rtp(1), 0, 172), false);
    assert.equal(transport.counters.unsentNoRemote, 1);
    transport.close();
  });
});
