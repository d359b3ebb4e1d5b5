// Browser legs beside the RTP legs: from the same port range, on this
// thread, whether the RTP legs' sockets are here or on a media worker.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebRtcTransport } from "../../media/webrtc/index.ts";
import { FakeClock } from "../../util/clock.ts";
import { createLogger } from "../../util/log.ts";
import { createMediaLegs } from "./media-legs.ts";

function range(pairs: number): { min: number; max: number } {
  const min = 30000 + 2 * Math.floor(Math.random() * 10000);
  return { min, max: min + 2 * pairs - 1 };
}

for (const threads of [0, 1]) {
  test(`browser legs come from the RTP range, with ${threads} media thread(s), and go back to it`, async () => {
    const rtpPorts = range(3);
    const legs = await createMediaLegs({
      threads,
      rtpPorts,
      bind: "127.0.0.1",
      publicAddress: "192.0.2.10",
      clock: new FakeClock(),
      log: createLogger("silent"),
    });
    try {
      const rtp = await legs.allocate();
      const browser = await legs.allocateWebRtc();
      assert.ok(browser instanceof WebRtcTransport);
      assert.equal(browser.localAddress, "192.0.2.10", "our candidate is the public address");
      assert.ok(browser.localPort >= rtpPorts.min && browser.localPort <= rtpPorts.max);
      assert.equal(browser.localPort % 2, 0, "an even port of a pair");
      assert.notEqual(browser.localPort, rtp.localPort, "a port the RTP legs do not hold");
      const second = await legs.allocateWebRtc();
      assert.notEqual(second.localPort, browser.localPort);
      // Three pairs: the range is full now; a released browser leg gives its pair back.
      await assert.rejects(legs.allocateWebRtc());
      legs.release(browser);
      assert.ok(browser.isClosed);
      const again = await legs.allocateWebRtc();
      assert.equal(again.localPort, browser.localPort);
      for (const leg of [rtp, second, again]) legs.release(leg);
    } finally {
      await legs.stop();
    }
  });
}
