// The messages a leg sends, on a recording stub of the client. That the
// daemon does the right thing with them is test/integration/rtpengine-splice.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { audioTarget } from "./inner-sdp.ts";
import type { NgAnswerParams, NgDeleteParams, NgOfferParams, NgSdpResult } from "./ng-types.ts";
import { INNER_FLAGS, PHONE_FLAGS, RtpengineLeg } from "./rtpengine-leg.ts";

function sdp(address: string, port: number, version = 1): string {
  return [
    "v=0",
    `o=x 1 ${version} IN IP4 ${address}`,
    "s=-",
    `c=IN IP4 ${address}`,
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    "",
  ].join("\r\n");
}

type Sent =
  | { command: "offer" | "answer"; params: NgOfferParams }
  | { command: "delete"; params: NgOfferParams };

/** Answers like rtpengine: phone side at port 30000, inner side at 30010 (unless told otherwise). */
class StubClient {
  readonly sent: Sent[] = [];
  phonePort = 30000;
  innerPort = 30010;
  fail: Error | null = null;

  private result(port: number): NgSdpResult {
    return { sdp: sdp("203.0.113.1", port), raw: {} };
  }

  async offer(params: NgOfferParams): Promise<NgSdpResult> {
    this.sent.push({ command: "offer", params });
    if (this.fail) throw this.fail;
    return this.result(params.fromTag.startsWith("phone") ? this.innerPort : this.phonePort);
  }

  async answer(params: NgAnswerParams): Promise<NgSdpResult> {
    this.sent.push({ command: "answer", params });
    if (this.fail) throw this.fail;
    // The answer goes back to the offerer (from-tag).
    return this.result(params.fromTag.startsWith("phone") ? this.phonePort : this.innerPort);
  }

  async delete(params: NgDeleteParams) {
    this.sent.push({ command: "delete", params: params as NgOfferParams });
    return { warning: "Call-ID not found or tags didn't match", raw: {} };
  }
}

const own = sdp("10.0.0.5", 20000);
const other = { address: "203.0.113.1", rtpPort: 30110, rtcpPort: 30111 };

test("a leg the phone offered: offer, answer, and a re-point repeats vpbx's answer", async () => {
  const client = new StubClient();
  const leg = new RtpengineLeg({
    client,
    callId: "c1",
    phoneTag: "phone-t",
    innerTag: "vpbx-t",
    label: "alice",
  });
  await assert.rejects(leg.pointInnerAt(other), /offer\/answer is not complete/);
  assert.equal(await leg.phoneOffer(sdp("192.0.2.10", 4000)), sdp("203.0.113.1", 30010));
  assert.deepEqual(leg.innerPort(), { address: "203.0.113.1", rtpPort: 30010, rtcpPort: 30011 });
  assert.equal(await leg.innerAnswer(own), sdp("203.0.113.1", 30000));
  const [offer, answer] = client.sent;
  assert.equal(offer.command, "offer");
  assert.deepEqual(
    { ...offer.params, sdp: undefined },
    {
      callId: "c1",
      fromTag: "phone-t",
      toTag: undefined,
      flags: PHONE_FLAGS,
      replace: ["origin", "session-connection"],
      ICE: "remove",
      label: "alice",
      sdp: undefined,
    },
  );
  assert.equal(answer.command, "answer");
  assert.equal(answer.params.fromTag, "phone-t");
  assert.equal(answer.params.toTag, "vpbx-t");
  assert.deepEqual(answer.params.flags, INNER_FLAGS);
  assert.equal(answer.params.sdp, own);

  const bridged = await leg.pointInnerAt(other);
  assert.deepEqual(bridged, { phoneSdp: sdp("203.0.113.1", 30000), phoneSdpChanged: false });
  assert.equal(leg.bridged, true);
  const repoint = client.sent[2];
  assert.equal(client.sent.length, 3);
  assert.equal(repoint.command, "answer");
  assert.equal(repoint.params.toTag, "vpbx-t");
  assert.deepEqual(audioTarget(repoint.params.sdp), other);
  assert.deepEqual(repoint.params.flags, INNER_FLAGS);

  // A re-INVITE of the phone while bridged: vpbx's new answer still names the hairpin.
  await leg.phoneOffer(sdp("192.0.2.10", 4002, 2));
  assert.equal(client.sent[3].params.fromTag, "phone-t");
  assert.equal(client.sent[3].params.toTag, "vpbx-t", "a re-offer names both tags");
  await leg.innerAnswer(sdp("10.0.0.5", 20000, 2));
  assert.deepEqual(audioTarget(client.sent[4].params.sdp), other);

  await leg.pointInnerAt(null);
  assert.equal(leg.bridged, false);
  assert.deepEqual(audioTarget(client.sent[5].params.sdp), audioTarget(own));

  await leg.delete();
  assert.deepEqual(client.sent[6], { command: "delete", params: { callId: "c1", fatal: false } });
});

test("a leg vpbx offered: a re-point re-offers and replays the phone's answer", async () => {
  const client = new StubClient();
  const leg = new RtpengineLeg({ client, callId: "c2", phoneTag: "phone-b", innerTag: "vpbx-b" });
  await assert.rejects(leg.phoneAnswer(sdp("192.0.2.20", 5000)), /without an offer of ours/);
  await assert.rejects(leg.innerAnswer(own), /without a phone offer/);
  assert.throws(() => leg.innerPort(), /no SDP from rtpengine yet/);
  await leg.innerOffer(own);
  const phoneAnswer = sdp("192.0.2.20", 5000);
  await leg.phoneAnswer(phoneAnswer);
  assert.deepEqual(
    client.sent.map((s) => [s.command, s.params.fromTag, s.params.toTag]),
    [
      ["offer", "vpbx-b", undefined],
      ["answer", "vpbx-b", "phone-b"],
    ],
  );
  assert.deepEqual(client.sent[0].params.flags, INNER_FLAGS);
  assert.deepEqual(client.sent[1].params.flags, PHONE_FLAGS);

  await leg.pointInnerAt(other);
  const [reoffer, replay] = client.sent.slice(2);
  assert.equal(reoffer.command, "offer");
  assert.equal(reoffer.params.fromTag, "vpbx-b");
  assert.equal(reoffer.params.toTag, "phone-b");
  assert.deepEqual(audioTarget(reoffer.params.sdp), other);
  assert.deepEqual(reoffer.params.flags, INNER_FLAGS);
  assert.equal(replay.command, "answer");
  assert.equal(replay.params.sdp, phoneAnswer);
  assert.deepEqual(replay.params.flags, PHONE_FLAGS, "the phone keeps endpoint learning (NAT)");
});

test("a failed re-point leaves the leg where it was; a moved phone port is reported", async () => {
  const client = new StubClient();
  const leg = new RtpengineLeg({ client, callId: "c3", phoneTag: "phone-t", innerTag: "vpbx-t" });
  await leg.phoneOffer(sdp("192.0.2.10", 4000));
  await leg.innerAnswer(own);
  client.fail = new Error("rtpengine answer (call c3) failed: Unknown call-id");
  await assert.rejects(leg.pointInnerAt(other), /Unknown call-id/);
  assert.equal(leg.bridged, false);
  client.fail = null;
  client.phonePort = 30100;
  const r = await leg.pointInnerAt(other);
  assert.equal(r.phoneSdpChanged, true);
  assert.equal(audioTarget(r.phoneSdp).rtpPort, 30100);
});
