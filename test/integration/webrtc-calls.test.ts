// Issue 13, browsers as phones: a browser leg in a call through the PBX.
// The browser is a real headless Chromium with a hand-made peer connection
// (test/support/chromium.ts PEER_PAGE: its fake microphone plays 1 kHz);
// its SIP is the harness phone registered over WebSocket, which carries the
// page's SDP as JsSIP would. The other party is a plain UDP harness phone.
// Both ways: the browser calls the phone (its WebRTC offer gets a browser
// leg and our ICE-lite/DTLS answer, the phone a plain RTP/AVP offer) and the
// phone calls the browser (a binding over WebSocket gets our WebRTC offer);
// audio is checked both ways after the PBX's DTLS-SRTP and relay. Also: an
// offer without G.711 gets 488, and a browser whose DTLS certificate is not
// the one of its SDP is hung up with BYE on both sides.
//
// Real time: the browser runs on its own clock. Every packet stays on this
// machine: the PBX's one candidate is 127.0.0.1, and its answers to checks
// from Chromium's other host candidate go to this machine's own address.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { SipPhone } from "../harness/sip-phone.ts";
import {
  chromiumSkip,
  eventually,
  launchChromium,
  openPage,
  PEER_PAGE,
  toneShare,
  toneWavFile,
} from "../support/chromium.ts";
import { Phones } from "../support/phones.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

type Inbound = { packetsReceived: number; audioLevel: number; energy: number } | null;
type Peak = { hz: number; db: number } | null;

const skip = chromiumSkip();

describe("calls with a browser leg (WebRTC through the B2BUA)", { skip, timeout: 120_000 }, () => {
  let pbx: TestPbx;
  let browser: Browser;
  let page: Page;
  let closePage: () => Promise<void>;
  const phones = new Phones(() => pbx.sip);
  const tone = toneWavFile(1000, 10);

  before(async () => {
    pbx = await startTestPbx();
    await pbx.addTenant("acme", "acme.test");
    for (const n of ["101", "102"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
    browser = await launchChromium({ audioFile: tone.path, allowLoopback: true });
    ({ page, close: closePage } = await openPage(browser, PEER_PAGE));
  });
  after(async () => {
    await closePage?.();
    await browser?.close();
    await pbx?.stop();
    tone.remove();
  });
  afterEach(async () => {
    await page.evaluate("hangUp()");
    await phones.cleanup();
  });

  /** The browser's SIP: the harness phone over WebSocket on the PBX's HTTP port. */
  function browserPhone(user: string): Promise<SipPhone> {
    return phones.registered(user, {
      transport: "WS",
      server: { host: "127.0.0.1", port: pbx.vpbx.httpPort },
    });
  }

  /** The last second of what a phone heard is the browser's 1 kHz tone. */
  async function phoneHearsBrowser(received: () => Int16Array): Promise<void> {
    const share = await eventually(
      async () => {
        const pcm = received();
        return pcm.length >= 8000 ? toneShare(pcm.subarray(pcm.length - 8000), 1000) : 0;
      },
      (s) => s > 0.5,
      "the phone hears the browser's 1 kHz tone",
    );
    assert.ok(share > 0.5, `1 kHz share ${share.toFixed(3)}`);
  }

  /** The page hears the phone's 600 Hz tone: its inbound-rtp level and its analyser. */
  async function browserHearsPhone(): Promise<void> {
    const level = await eventually(
      () => page.evaluate("inbound()") as Promise<Inbound>,
      (r) => r !== null && r.packetsReceived > 50 && r.audioLevel > 0.05,
      "the browser receives audio",
    );
    assert.ok(level && level.energy > 0);
    const heard = await eventually(
      () => page.evaluate("peak()") as Promise<Peak>,
      (p) => p !== null && Math.abs(p.hz - 600) < 15,
      "the browser hears 600 Hz",
    );
    assert.ok(heard);
  }

  test("a browser calls a phone: its WebRTC offer is answered by a browser leg, audio both ways", async () => {
    const alice = await browserPhone("101");
    const bob = await phones.registered("102");
    bob.autoAnswer();
    const offer = (await page.evaluate("startCall()")) as string;
    assert.match(offer, /UDP\/TLS\/RTP\/SAVPF/);
    const out = await alice.call("102", { sdp: offer });
    await out.waitFor("answered");
    const answer = out.finalResponse!.body.toString("utf8");
    assert.match(answer, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0 126\r$/m, "PCMU, Chrome's event number");
    assert.match(answer, /^a=ice-lite\r$/m);
    assert.match(answer, /^a=setup:passive\r$/m);
    assert.match(answer, /^a=fingerprint:sha-256 [0-9A-F:]{95}\r$/m);
    assert.match(answer, /^a=candidate:1 1 udp \d+ 127\.0\.0\.1 \d+ typ host\r$/m);
    const atBob = await bob.waitForCall();
    await atBob.waitForAck();
    const toBob = atBob.request.body.toString("utf8");
    assert.match(
      toBob,
      /^m=audio \d+ RTP\/AVP 0 8 126\r$/m,
      "the phone gets plain RTP, Chrome's G.711 and events",
    );
    assert.doesNotMatch(toBob, /ice-|fingerprint|candidate/, "nothing of the browser's transport");
    await page.evaluate(`acceptAnswer(${JSON.stringify(answer)})`);
    await eventually(
      () => page.evaluate("connectionState()") as Promise<string>,
      (s) => s === "connected" || s === "failed",
      "ICE and DTLS up",
    );
    assert.equal(await page.evaluate("connectionState()"), "connected");

    await phoneHearsBrowser(() => atBob.receivedPcm());
    atBob.startSendingTone(600);
    await browserHearsPhone();
    atBob.stopSending();

    await out.bye();
    await atBob.waitFor("ended");
  });

  test("a phone calls a browser: a binding over WebSocket gets our WebRTC offer, audio both ways", async () => {
    const alice = await browserPhone("101");
    const bob = await phones.registered("102");
    const call = await bob.call("101", { codecs: ["PCMA", "PCMU"] });
    const atAlice = await alice.waitForCall();
    const offer = atAlice.request.body.toString("utf8");
    assert.match(offer, /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 8 0 101\r$/m, "the phone's codecs and numbers");
    assert.match(offer, /^a=setup:actpass\r$/m);
    assert.match(offer, /^a=ice-lite\r$/m);
    assert.match(offer, /^a=rtcp-mux\r$/m);
    const answer = (await page.evaluate(`answerCall(${JSON.stringify(offer)})`)) as string;
    assert.match(answer, /^a=setup:active\r$/m, "Chrome takes the DTLS client's role");
    await atAlice.answer({ sdp: answer });
    await call.waitFor("answered");
    await atAlice.waitForAck();
    // Chrome answers with every codec it would take, PCMA first: the phone hears that list.
    assert.match(call.finalResponse!.body.toString("utf8"), /^m=audio \d+ RTP\/AVP 8( 0)? 101\r$/m);
    await eventually(
      () => page.evaluate("connectionState()") as Promise<string>,
      (s) => s === "connected" || s === "failed",
      "ICE and DTLS up",
    );
    assert.equal(await page.evaluate("connectionState()"), "connected");

    await phoneHearsBrowser(() => call.receivedPcm());
    call.startSendingTone(600);
    await browserHearsPhone();
    call.stopSending();

    // The browser hangs up.
    await atAlice.bye();
    await call.waitFor("ended");
  });

  test("a browser's offer without G.711 gets 488", async () => {
    const alice = await browserPhone("101");
    await phones.registered("102");
    const offer = (await page.evaluate("startCall()")) as string;
    const opusOnly = offer.replace(/^(m=audio \d+ UDP\/TLS\/RTP\/SAVPF) .*$/m, "$1 111\r");
    const out = await alice.call("102", { sdp: opusOnly });
    const res = await out.waitFor(488);
    assert.equal(res.status, 488);
  });

  test("a browser whose DTLS certificate is not its SDP's fingerprint: the call ends with BYE both ways", async () => {
    const alice = await browserPhone("101");
    const bob = await phones.registered("102");
    bob.autoAnswer();
    const offer = (await page.evaluate("startCall()")) as string;
    // Someone changed the fingerprint on the way: the certificate Chrome presents no longer matches.
    const forged = offer.replace(
      /^(a=fingerprint:sha-256 )([0-9A-F]{2})/m,
      (_m, head: string, first: string) => head + (first === "00" ? "11" : "00"),
    );
    assert.notEqual(forged, offer);
    const out = await alice.call("102", { sdp: forged });
    await out.waitFor("answered");
    const atBob = await bob.waitForCall();
    await atBob.waitForAck();
    await page.evaluate(`acceptAnswer(${JSON.stringify(out.finalResponse!.body.toString("utf8"))})`);
    const [a, b] = await Promise.all([out.waitFor("ended", 20_000), atBob.waitFor("ended", 20_000)]);
    assert.deepEqual([a.by, a.reason], ["remote", "bye"]);
    assert.deepEqual([b.by, b.reason], ["remote", "bye"]);
    assert.notEqual(await page.evaluate("connectionState()"), "connected");
  });
});
