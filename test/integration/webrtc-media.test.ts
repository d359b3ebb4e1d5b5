// A real Chromium calls our WebRtcTransport: its offer (Chrome's own, opus
// first, BUNDLE, candidates, fingerprint) is answered by answerWebRtcOffer,
// ICE-lite and DTLS-SRTP come up over one UDP port on loopback, the
// browser's fake microphone (a 1 kHz tone) arrives here as SRTP that we
// decrypt and decode from G.711, and the 600 Hz tone we send back reaches
// the page (its inbound-rtp statistics and a WebAudio analyser).
//
// Real time: the browser runs on its own clock, so this test waits for it
// (polling) and paces our RTP with a real 20 ms interval, as a phone would.
// The transport's own timers run on a FakeClock that never moves here.
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { decodeG711, encodeG711, type G711Codec } from "../../src/media/codec/g711.ts";
import { writeRtpHeader } from "../../src/media/rtp/packet.ts";
import { waitFor } from "../../src/media/rtp/testing.ts";
import {
  answerWebRtcOffer,
  createWebRtcOffer,
  type DatagramPort,
  type DtlsCertificate,
  processDtlsCertificate,
  readWebRtcAnswer,
  udpSocketPort,
  type WebRtcFailure,
  WebRtcTransport,
} from "../../src/media/webrtc/index.ts";
import { FakeClock } from "../../src/util/clock.ts";
import { chromiumSkip, launchChromium, openPage, toneWavFile } from "../support/chromium.ts";

/** The page's side: a peer connection with the fake microphone, and probes of what it receives. */
const PAGE = `<!doctype html><title>vpbx webrtc</title><script>
let pc, analyser, ctx;
async function startCall(withVideoAndData) {
  pc = new RTCPeerConnection();
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    video: !!withVideoAndData,
  });
  for (const t of mic.getTracks()) pc.addTrack(t, mic);
  if (withVideoAndData) pc.createDataChannel("chat");
  pc.ontrack = (e) => {
    const s = new MediaStream([e.track]);
    // Played by a media element (headless: to no device): Chromium computes
    // inbound-rtp audioLevel from the playout, and feeds a remote track to
    // WebAudio only while an element plays it.
    const el = new Audio();
    el.srcObject = s;
    el.play().catch(() => {});
    ctx = new AudioContext();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    ctx.createMediaStreamSource(s).connect(analyser);
  };
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return pc.localDescription.sdp;
}
async function answerCall(sdp) {
  pc = new RTCPeerConnection();
  const mic = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  for (const t of mic.getTracks()) pc.addTrack(t, mic);
  await pc.setRemoteDescription({ type: "offer", sdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  return pc.localDescription.sdp;
}
async function acceptAnswer(sdp) {
  await pc.setRemoteDescription({ type: "answer", sdp });
}
async function inbound() {
  const stats = await pc.getStats();
  let r = null;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      r = { packetsReceived: s.packetsReceived, audioLevel: s.audioLevel ?? 0, energy: s.totalAudioEnergy ?? 0 };
    }
  });
  return r;
}
function peak() {
  if (!analyser) return null;
  const data = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(data);
  let best = 1;
  for (let i = 2; i < data.length; i++) if (data[i] > data[best]) best = i;
  return { hz: (best * ctx.sampleRate) / analyser.fftSize, db: data[best] };
}
function connectionState() {
  return pc.connectionState;
}
function hangUp() {
  pc.close();
}
</script>`;

/** Power of `frequency` in the samples (Goertzel), normalised by the samples' total power. */
function toneShare(samples: Int16Array, frequency: number, rate = 8000): number {
  const w = (2 * Math.PI * frequency) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (const x of samples) {
    const s = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
    total += x * x;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  // A pure tone of N samples puts N/2 · Σx² into its Goertzel bin.
  return total === 0 ? 0 : power / ((samples.length / 2) * total);
}

const skip = chromiumSkip();

describe("WebRTC media with a real Chromium", { skip, timeout: 60_000 }, () => {
  let browser: Browser;
  let page: Page;
  let closePage: () => Promise<void>;
  let socket: Socket;
  let certificate: DtlsCertificate;
  const tone = toneWavFile(1000);

  before(async () => {
    certificate = await processDtlsCertificate();
    browser = await launchChromium({ audioFile: tone.path, allowLoopback: true });
    ({ page, close: closePage } = await openPage(browser, PAGE));
    socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  });

  after(async () => {
    await closePage?.();
    await browser?.close();
    socket?.close();
    tone.remove();
  });

  test("ICE-lite and DTLS-SRTP come up; the tones cross both ways", async () => {
    const clock = new FakeClock();
    const port = (socket.address() as AddressInfo).port;
    const transport = new WebRtcTransport({
      port: loopbackOnly(udpSocketPort(socket)),
      localAddress: "127.0.0.1",
      localPort: port,
      certificate,
      clock,
    });
    const received: Buffer[] = [];
    let rtcp = 0;
    transport.onPacket = (buf, len) => received.push(Buffer.from(buf.subarray(0, len)));
    transport.onRtcp = () => rtcp++;
    let failure: Error | undefined;
    transport.onFailed = (f) => {
      failure = f;
    };

    const offer = (await page.evaluate("startCall()")) as string;
    assert.match(offer, /UDP\/TLS\/RTP\/SAVPF/);
    const { answer, media, remote } = answerWebRtcOffer(offer, {
      address: "127.0.0.1",
      port,
      ice: transport.ice,
      fingerprint: transport.fingerprint,
      sessionId: "4242",
      sessionVersion: 1,
    });
    assert.equal(media.codec, "PCMU", "the first G.711 of Chrome's list");
    transport.setRemoteParameters(remote);
    await page.evaluate(`acceptAnswer(${JSON.stringify(answer)})`);

    await waitFor(() => transport.state === "connected" || failure !== undefined, 20_000);
    assert.equal(failure, undefined, `the leg failed: ${failure?.message}`);
    assert.equal(transport.state, "connected");
    assert.equal(transport.connected?.remote.address, "127.0.0.1");
    await waitFor(() => page.isClosed() || received.length >= 100, 20_000);

    // The browser's microphone: the last second of G.711 is the 1 kHz tone.
    const frames = received.slice(-50);
    for (const f of frames) assert.equal(f[1] & 0x7f, media.payloadType, "PCMU as answered");
    const samples = new Int16Array(frames.length * 160);
    frames.forEach((f, i) => {
      const payload = f.subarray(12 + 4 * (f[0] & 0x0f));
      decodeG711(media.codec, payload, samples.subarray(i * 160, i * 160 + payload.length));
    });
    const at1k = toneShare(samples, 1000);
    const at600 = toneShare(samples, 600);
    assert.ok(at1k > 0.5, `1 kHz should dominate what the browser sends (share ${at1k.toFixed(3)})`);
    assert.ok(at600 < 0.05, `no 600 Hz in it (share ${at600.toFixed(3)})`);

    // Our tone toward the browser: 600 Hz, 20 ms packets, in real time for three seconds.
    const before = (await page.evaluate("inbound()")) as { packetsReceived: number } | null;
    const sending = sendTone(transport, media.codec, media.payloadType, 600, 150);
    // Two seconds in, while the tone plays: the page's level and analyser hear it.
    await new Promise((r) => setTimeout(r, 2000));
    const during = (await page.evaluate("inbound()")) as { audioLevel: number; energy: number } | null;
    const heard = (await page.evaluate("peak()")) as { hz: number; db: number } | null;
    const sent = await sending;
    const after = (await page.evaluate("inbound()")) as { packetsReceived: number } | null;
    assert.ok(sent >= 140, `sent ${sent} packets`);
    assert.ok(during && after, "the page has an inbound audio stream");
    assert.ok(
      after.packetsReceived - (before?.packetsReceived ?? 0) >= 100,
      `received ${after.packetsReceived}`,
    );
    assert.ok(during.audioLevel > 0.05, `audio level ${during.audioLevel}`);
    assert.ok(during.energy > 0, "audio energy");
    assert.ok(heard, "the page got our track");
    assert.ok(
      Math.abs(heard.hz - 600) < 15,
      `the page hears ${heard.hz.toFixed(1)} Hz at ${heard.db.toFixed(1)} dB`,
    );
    assert.ok(rtcp > 0, "the browser's SRTCP arrived and was decrypted (rtcp-mux)");
    assert.equal(transport.counters.srtp.authFailed, 0);
    assert.equal(transport.counters.unvalidatedDropped, 0);
    assert.equal(
      transport.connected?.profile,
      "AES_CM_128_HMAC_SHA1_80",
      "our first choice, which Chrome offers",
    );
    assert.equal(await page.evaluate("connectionState()"), "connected");

    // The page hangs up: Chrome's close_notify (encrypted, epoch 1) closes the leg.
    let closed = false;
    transport.onClosed = () => {
      closed = true;
    };
    await page.evaluate("hangUp()");
    await waitFor(() => closed, 10_000);
    assert.equal(transport.state, "closed");
    assert.equal(failure, undefined);
  });

  test("vpbx calls the browser: our offer (actpass), Chrome's answer (active), media flows", async () => {
    const port = (socket.address() as AddressInfo).port;
    const transport = new WebRtcTransport({
      port: loopbackOnly(udpSocketPort(socket)),
      localAddress: "127.0.0.1",
      localPort: port,
      certificate,
      clock: new FakeClock(),
    });
    let packets = 0;
    transport.onPacket = () => packets++;
    const offer = createWebRtcOffer({
      address: "127.0.0.1",
      port,
      ice: transport.ice,
      fingerprint: transport.fingerprint,
      sessionId: "4244",
      sessionVersion: 1,
      codecs: ["PCMA", "PCMU"],
    });
    const answer = (await page.evaluate(`answerCall(${JSON.stringify(offer)})`)) as string;
    const { media, remote } = readWebRtcAnswer(answer);
    assert.equal(media.codec, "PCMA", "Chrome keeps our order");
    assert.equal(remote.setup, "active");
    transport.setRemoteParameters(remote);
    await waitFor(() => packets >= 25 || transport.isClosed, 20_000);
    assert.equal(transport.state, "connected");
    assert.ok(packets >= 25, `${packets} packets decrypted`);
    await page.evaluate("hangUp()");
    transport.close();
  });

  test("a certificate that does not match the SDP's fingerprint is refused before our Finished", async () => {
    const port = (socket.address() as AddressInfo).port;
    const transport = new WebRtcTransport({
      port: loopbackOnly(udpSocketPort(socket)),
      localAddress: "127.0.0.1",
      localPort: port,
      certificate,
      clock: new FakeClock(),
    });
    let failure: WebRtcFailure | undefined;
    transport.onFailed = (f) => {
      failure = f;
    };
    let packets = 0;
    transport.onPacket = () => packets++;
    const offer = (await page.evaluate("startCall()")) as string;
    const { answer, remote } = answerWebRtcOffer(offer, {
      address: "127.0.0.1",
      port,
      ice: transport.ice,
      fingerprint: transport.fingerprint,
      sessionId: "4245",
      sessionVersion: 1,
    });
    // Someone changed the browser's fingerprint on the way (or its DTLS is not its own).
    const forged = { ...remote.fingerprints[0], value: certificate.fingerprint.value };
    transport.setRemoteParameters({ ...remote, fingerprints: [forged] });
    await page.evaluate(`acceptAnswer(${JSON.stringify(answer)})`);
    await waitFor(() => failure !== undefined, 20_000);
    assert.equal(failure?.reason, "fingerprint");
    assert.equal(transport.state, "failed");
    assert.equal(transport.connected, undefined, "no keys released");
    assert.equal(packets, 0);
    assert.notEqual(
      await page.evaluate("connectionState()"),
      "connected",
      "the browser never completes DTLS",
    );
    await page.evaluate("hangUp()");
  });

  test("AEAD_AES_128_GCM, and an offer with video and a data channel answered audio only", async () => {
    const port = (socket.address() as AddressInfo).port;
    const transport = new WebRtcTransport({
      port: loopbackOnly(udpSocketPort(socket)),
      localAddress: "127.0.0.1",
      localPort: port,
      certificate,
      clock: new FakeClock(),
      profiles: ["AEAD_AES_128_GCM"],
    });
    let packets = 0;
    transport.onPacket = () => packets++;
    const offer = (await page.evaluate("startCall(true)")) as string;
    assert.match(offer, /^m=video /m);
    assert.match(offer, /^m=application /m);
    const { answer, remote } = answerWebRtcOffer(offer, {
      address: "127.0.0.1",
      port,
      ice: transport.ice,
      fingerprint: transport.fingerprint,
      sessionId: "4243",
      sessionVersion: 1,
      codecs: ["PCMA"],
    });
    assert.match(answer, /a=rtpmap:8 PCMA\/8000/);
    transport.setRemoteParameters(remote);
    await page.evaluate(`acceptAnswer(${JSON.stringify(answer)})`);
    await waitFor(() => packets >= 25 || transport.isClosed, 20_000);
    assert.equal(transport.connected?.profile, "AEAD_AES_128_GCM");
    assert.ok(packets >= 25, `${packets} packets decrypted`);
    assert.equal(transport.counters.srtp.authFailed, 0);
    await page.evaluate("hangUp()");
    transport.close();
  });
});

/**
 * The port as a browser on this machine reaches it only over loopback:
 * Chromium also checks from its other host candidates (this machine's own
 * interface addresses), and those checks go unanswered, so that every
 * packet we send goes to 127.0.0.0/8.
 */
function loopbackOnly(port: DatagramPort): DatagramPort {
  return {
    send: (buf, p, address) => {
      if (address.startsWith("127.")) port.send(buf, p, address);
    },
    onMessage: (handler) =>
      port.onMessage((msg, from) => {
        if (from.address.startsWith("127.")) handler(msg, from);
      }),
  };
}

/**
 * Sends `count` 20 ms G.711 packets of a tone, one every 20 ms (real time:
 * the browser plays out in real time). Returns the packets sent.
 */
async function sendTone(
  transport: WebRtcTransport,
  codec: G711Codec,
  pt: number,
  frequency: number,
  count: number,
): Promise<number> {
  const ssrc = 0x5eed1234;
  let sent = 0;
  const packet = Buffer.alloc(12 + 160);
  const pcm = new Int16Array(160);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let i = 0; i < 160; i++) {
        const n = sent * 160 + i;
        pcm[i] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * frequency * n) / 8000));
      }
      writeRtpHeader(packet, sent === 0, pt, sent & 0xffff, sent * 160, ssrc);
      encodeG711(codec, pcm, packet, 12);
      if (transport.send(packet, 0, packet.length)) sent++;
      if (sent >= count) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
  return sent;
}
