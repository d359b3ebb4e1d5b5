// Issue 13 end to end: a person logs into the console in a real headless
// Chromium (its fake microphone plays 1 kHz), opens the Phone page, and the
// softphone (JsSIP, bundled by Vite, registered over the PBX's SIP
// WebSocket) calls baresip (a real softphone, registered to the same PBX,
// whose microphone plays 600 Hz): each hears the other (baresip records what
// it decodes; the page's peer connection reports its inbound audio and a
// WebAudio analyser finds 600 Hz), keys of the call's keypad reach baresip
// as RFC 4733 events, hold and resume keep the one DTLS association, then
// hang up. baresip calls back and the page answers; and *11 with the
// company PIN typed on the keypad switches the company's call flow (the PBX
// read the digits).
//
// Real time throughout: the browser and baresip run on their own clocks.
// The console must be built (console/dist): it is built here when missing or
// older than its sources. Every packet stays on this machine (loopback, and
// this machine's own address for Chromium's other host candidate).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { consoleBuildState, runConsoleBuild } from "../../src/cli/console-build.ts";
import { sine } from "../harness/audio.ts";
import { type Baresip, startBaresip } from "../harness/baresip.ts";
import { requireTool } from "../harness/tools.ts";
import { writeTempWav } from "../harness/wav-fixtures.ts";
import { chromiumSkip, eventually, launchChromium, toneShare, toneWavFile } from "../support/chromium.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const PASSWORD = "Quokka-juggles-7-plums!";
const COMPANY_PIN = "2580";

/**
 * Before the page's scripts: every RTCPeerConnection it makes is kept in
 * window.__pcs (JsSIP makes one per call), and probes read them.
 */
const PROBES = `
(() => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  window.__pcs = pcs;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
  const last = () => pcs[pcs.length - 1];
  window.__inbound = async () => {
    const pc = last();
    if (!pc) return null;
    let r = null;
    let transport = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio")
        r = { packetsReceived: s.packetsReceived, audioLevel: s.audioLevel ?? 0 };
      if (s.type === "transport")
        transport = { dtlsState: s.dtlsState, remoteCertificateId: s.remoteCertificateId, srtpCipher: s.srtpCipher };
    });
    return r && { ...r, transport, connectionState: pc.connectionState, count: pcs.length };
  };
  let analyser, ctx;
  window.__peak = () => {
    const pc = last();
    if (!pc) return null;
    if (!analyser) {
      const track = pc.getReceivers().map((r) => r.track).find((t) => t && t.kind === "audio");
      if (!track) return null;
      ctx = new AudioContext();
      analyser = ctx.createAnalyser();
      analyser.fftSize = 8192;
      ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      return null;
    }
    const data = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(data);
    let best = 1;
    for (let i = 2; i < data.length; i++) if (data[i] > data[best]) best = i;
    return { hz: (best * ctx.sampleRate) / analyser.fftSize, db: data[best] };
  };
  window.__resetPeak = () => { analyser = undefined; };
})();
`;

type Inbound = {
  packetsReceived: number;
  audioLevel: number;
  connectionState: string;
  count: number;
  transport: { dtlsState: string; remoteCertificateId: string; srtpCipher: string } | null;
} | null;

const baresipMissing = requireTool("baresip")
  ? undefined
  : "baresip is not installed (apt-get install baresip)";
const skip = chromiumSkip() ?? (process.env.CI === "true" ? undefined : baresipMissing);

describe("the console's softphone calls baresip through the PBX", { skip, timeout: 240_000 }, () => {
  let pbx: TestPbx;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let baresip: Baresip;
  const tone = toneWavFile(1000, 30);
  const baresipTone = writeTempWav(sine(600, 30_000, 8000));

  before(async () => {
    if (consoleBuildState() !== "fresh") await runConsoleBuild();
    pbx = await startTestPbx();
    await pbx.addTenant("acme", "acme.test", { language: "en" });
    for (const n of ["101", "102"]) await pbx.addExtension("acme", n, `secret-${n}-pw`, `Ext ${n}`);
    const user = await pbx.api("POST", "/api/v1/users", {
      username: "anna",
      password: PASSWORD,
      role: "user",
      tenant: "acme",
      extension: "101",
      language: "en",
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    baresip = await startBaresip({
      user: "102",
      password: "secret-102-pw",
      domain: "acme.test",
      server: `127.0.0.1:${pbx.sip.port}`,
      audioSource: baresipTone,
      answerMode: "auto",
      lifetimeSec: 200,
    });
    await baresip.waitForRegistration(8000);
    browser = await launchChromium({ audioFile: tone.path, allowLoopback: true });
    context = await browser.newContext();
    await context.addInitScript(PROBES);
    page = await context.newPage();
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close();
    await baresip?.stop();
    await pbx?.stop();
    tone.remove();
  });

  const softphone = () => page.locator("section.softphone");
  const inbound = () => page.evaluate("window.__inbound()") as Promise<Inbound>;
  const callCard = (state: string) => softphone().locator(`li[data-state="${state}"]`);

  test("log in, open the Phone page: the softphone registers over the WebSocket", async () => {
    await page.goto(`http://127.0.0.1:${pbx.vpbx.httpPort}/`);
    await page.fill("input[name=username]", "anna");
    await page.fill("input[name=password]", PASSWORD);
    await page.click("button[type=submit]");
    await page.getByRole("link", { name: "Phone" }).first().click();
    await softphone().and(page.locator('[data-registration="registered"]')).waitFor({ timeout: 20_000 });
    await page.getByText("Ready: you can call and be called on 101").waitFor();
    const regs = await pbx.api<Array<{ extension: string; source: string; userAgent?: string }>>(
      "GET",
      "/api/v1/tenants/acme/registrations",
    );
    const mine = regs.body.find((r) => r.extension === "101");
    assert.match(mine?.source ?? "", /^ws:127\.0\.0\.1:\d+$/);
    assert.match(mine?.userAgent ?? "", /JsSIP/);
    // The voicemail lamp: the PBX's first NOTIFY of the subscription.
    await softphone().locator('[data-waiting="false"]').waitFor({ timeout: 10_000 });
  });

  test("it calls baresip: audio both ways, DTMF from the keypad, hold and resume on one DTLS association", async () => {
    await page.getByLabel("Number to call").fill("102");
    await page.getByRole("button", { name: "Call", exact: true }).click();
    await baresip.waitForCallEstablished(15_000);
    await callCard("active").waitFor({ timeout: 15_000 });

    // The page hears baresip's 600 Hz.
    const first = await eventually(
      inbound,
      (r) =>
        r !== null &&
        r.connectionState === "connected" &&
        r.packetsReceived > 100 &&
        r.audioLevel > 0.02 &&
        // Chromium names the peer's certificate in its stats a little after DTLS connects.
        r.transport?.remoteCertificateId !== undefined,
      "the page receives baresip's audio",
    );
    assert.equal(first?.transport?.dtlsState, "connected");
    await page.evaluate("window.__peak()");
    await eventually(
      () => page.evaluate("window.__peak()") as Promise<{ hz: number } | null>,
      (p) => p !== null && Math.abs(p.hz - 600) < 15,
      "the page hears 600 Hz",
    );

    // Keys of the call's keypad: RFC 4733 events through the PBX to baresip.
    await callCard("active").getByRole("button", { name: "Keypad for this call" }).click();
    const dtmf = () => baresip.events.filter((e) => e.type === "CALL_DTMF_START");
    for (const key of ["5", "#"]) {
      const seen = dtmf().length;
      await callCard("active")
        .getByRole("button", { name: `Key ${key}` })
        .click();
      const events = await eventually(
        async () => dtmf(),
        (e) => e.length > seen,
        `baresip receives the key ${key}`,
        5000,
      );
      assert.equal(String(events[seen].param ?? "").trim(), key);
    }

    // Hold and resume (re-INVITEs from JsSIP): the same peer connection and DTLS association.
    await callCard("active").getByRole("button", { name: "Hold" }).click();
    await callCard("held").waitFor({ timeout: 10_000 });
    await callCard("held").getByRole("button", { name: "Resume" }).click();
    await callCard("active").waitFor({ timeout: 10_000 });
    const before = await inbound();
    const resumed = await eventually(
      inbound,
      (r) => r !== null && r.packetsReceived > (before?.packetsReceived ?? 0) + 50,
      "audio flows again after resume",
    );
    assert.equal(resumed?.count, first?.count, "no new peer connection");
    assert.equal(resumed?.transport?.dtlsState, "connected");
    assert.equal(resumed?.transport?.remoteCertificateId, first?.transport?.remoteCertificateId);

    // Hang up from the page.
    await callCard("active").getByRole("button", { name: "Hang up" }).click();
    await baresip.waitForCallClosed(10_000);
    await softphone().locator("li[data-state]").waitFor({ state: "detached" });

    // baresip heard the page's 1 kHz: a second of what it decoded, after the call settled.
    const heard = baresip.receivedWav();
    assert.ok(heard.samples.length > 2 * heard.rate, `baresip recorded ${heard.samples.length} samples`);
    const second = heard.samples.subarray(heard.rate, 2 * heard.rate);
    const share = toneShare(second, 1000, heard.rate);
    assert.ok(share > 0.5, `baresip hears the page's 1 kHz (share ${share.toFixed(3)})`);
  });

  test("baresip calls the softphone: it rings, the page answers, baresip hangs up", async () => {
    await baresip.dial("sip:101@acme.test");
    await softphone().getByRole("alert").getByText("Incoming call from").waitFor({ timeout: 15_000 });
    await callCard("ringing").getByRole("button", { name: "Answer" }).click();
    await baresip.waitForCallEstablished(15_000);
    await callCard("active").waitFor({ timeout: 10_000 });
    await eventually(
      inbound,
      (r) => r !== null && r.connectionState === "connected" && r.packetsReceived > 50,
      "the answered call's audio reaches the page",
    );
    await baresip.hangup();
    await softphone().locator("li[data-state]").waitFor({ state: "detached", timeout: 10_000 });
  });

  test("*11 and the company PIN typed on the keypad: the PBX reads the digits and switches the call flow", async () => {
    assert.equal(
      (await pbx.api("PATCH", "/api/v1/tenants/acme", { companyCodes: { pin: COMPANY_PIN } })).status,
      200,
    );
    assert.equal(
      (await pbx.api("PATCH", "/api/v1/tenants/acme/features", { callFlowControl: true })).status,
      200,
    );
    const flowBefore = await pbx.api<{ state: string }>("GET", "/api/v1/tenants/acme/callflow");
    await page.getByLabel("Number to call").fill("*11");
    await page.getByRole("button", { name: "Call", exact: true }).click();
    await callCard("active").waitFor({ timeout: 15_000 });
    await callCard("active").getByRole("button", { name: "Keypad for this call" }).click();
    // The PIN prompt takes the keys as they come (typing cuts it short).
    await new Promise((r) => setTimeout(r, 1000));
    for (const key of [...COMPANY_PIN, "#"]) {
      await callCard("active")
        .getByRole("button", { name: `Key ${key}` })
        .click();
      await new Promise((r) => setTimeout(r, 300));
    }
    const flow = await eventually(
      () => pbx.api<{ state: string }>("GET", "/api/v1/tenants/acme/callflow"),
      (r) => r.body.state !== flowBefore.body.state,
      "the call flow switched",
      20_000,
    );
    assert.notEqual(flow.body.state, flowBefore.body.state);
    // The PBX says so and hangs up.
    await softphone().locator("li[data-state]").waitFor({ state: "detached", timeout: 30_000 });
  });
});
