// Calls with their media through rtpengine (VPBX_RTPENGINE, issue 11): the
// phones only see rtpengine's ports; a bridged call is relayed inside
// rtpengine (the splice), so its packets never reach vpbx; apps still play
// from vpbx through rtpengine; hold and the end of the call put rtpengine's
// state back. Against the Debian rtpengine-daemon, in userspace.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { RtpengineClient } from "../../src/media/rtpengine/ng-client.ts";
import { SystemClock } from "../../src/util/clock.ts";
import { correlate, sine } from "../harness/audio.ts";
import { Phones } from "../support/phones.ts";
import { type RtpengineDaemon, rtpengineSkip, startRtpengine } from "../support/rtpengine.ts";
import { startTestPbx, type TestPbx } from "../support/test-pbx.ts";

const skip = rtpengineSkip();

describe("calls through rtpengine", { skip }, () => {
  let daemon: RtpengineDaemon;
  let pbx: TestPbx;
  let client: RtpengineClient;
  const phones = new Phones(() => pbx.sip);

  before(async () => {
    daemon = await startRtpengine();
    pbx = await startTestPbx({ config: { rtpengine: { host: daemon.host, port: daemon.ngPort } } });
    await pbx.addTenant("acme", "acme.test");
    for (const n of ["101", "102"]) await pbx.addExtension("acme", n, `secret-${n}-pw`);
    client = new RtpengineClient({ host: daemon.host, port: daemon.ngPort, clock: new SystemClock() });
  });

  after(async () => {
    client?.close();
    await pbx?.stop();
    await daemon?.stop();
  });

  afterEach(() => phones.cleanup());

  const inRange = (port: number) => port >= daemon.portMin && port <= daemon.portMax;

  /** Calls rtpengine holds now (its "list" command). */
  async function engineCalls(): Promise<string[]> {
    const r = await client.request({ command: "list" });
    const calls = r.calls;
    return Array.isArray(calls) ? calls.map(String) : [];
  }

  test("a bridged call: rtpengine's ports in both SDPs, audio both ways, nothing through vpbx's relay", async () => {
    const { call, incoming } = await phones.answeredCall("101", "102");
    assert.ok(inRange(call.remoteMedia!.port), `caller sends to rtpengine (${call.remoteMedia!.port})`);
    assert.ok(
      inRange(incoming.remoteMedia!.port),
      `callee sends to rtpengine (${incoming.remoteMedia!.port})`,
    );
    assert.equal(call.remoteMedia!.address, daemon.host);

    // Give the splice its two ng round trips, then talk.
    await new Promise((r) => setTimeout(r, 300));
    const toneA = sine(440, 800);
    const toneB = sine(1200, 800);
    await Promise.all([call.playAudio(toneA), incoming.playAudio(toneB)]);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(correlate(incoming.receivedPcm(), toneA).score > 0.9, "the callee hears the caller");
    assert.ok(correlate(call.receivedPcm(), toneB).score > 0.9, "the caller hears the callee");

    // The splice: each leg's inner side sends to rtpengine's own port of the
    // other leg (inside the daemon's range), no longer to vpbx's socket.
    const calls = await engineCalls();
    assert.equal(calls.length, 2, "one rtpengine call per leg");
    for (const callId of calls) {
      const q = await client.query({ callId });
      const inner = Object.values(q.tags).find((t) => t.tag.startsWith("v"));
      const stream = inner?.medias[0]?.streams[0];
      const endpoint = stream?.advertisedEndpoint ?? stream?.endpoint;
      assert.ok(
        endpoint && inRange(endpoint.port),
        `${callId}: inner side points into rtpengine (${JSON.stringify(endpoint)})`,
      );
    }

    await call.bye();
    await incoming.waitFor("ended");
    const deadline = Date.now() + 3000;
    while ((await engineCalls()).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await engineCalls(), [], "the legs' rtpengine calls are deleted with the call");
  });

  test("an app plays from vpbx through rtpengine: *72 without a number is answered and spoken to", async () => {
    const alice = await phones.registered("101");
    const code = await alice.call("*72");
    await code.waitFor("answered");
    assert.ok(inRange(code.remoteMedia!.port), "the prompt comes through rtpengine's port");
    const deadline = Date.now() + 5000;
    while (code.receivedPcm().length < 8000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const pcm = code.receivedPcm();
    const energy = pcm.reduce((sum, s) => sum + Math.abs(s), 0) / Math.max(1, pcm.length);
    assert.ok(
      pcm.length >= 8000 && energy > 100,
      `a spoken prompt arrived (${pcm.length} samples, energy ${energy})`,
    );
    await code.bye().catch(() => undefined);
  });
});
