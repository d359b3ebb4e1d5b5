import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "sdp-transform";
import { audioTarget, InnerSdpError, retarget } from "./inner-sdp.ts";

const ours = [
  "v=0",
  "o=vpbx 1234 7 IN IP4 10.0.0.5",
  "s=vpbx",
  "c=IN IP4 10.0.0.5",
  "t=0 0",
  "m=audio 20000 RTP/AVP 8 101",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=sendrecv",
  "",
].join("\r\n");

test("audioTarget reads c=, the m= port and RTCP (a=rtcp or the next port)", () => {
  assert.deepEqual(audioTarget(ours), { address: "10.0.0.5", rtpPort: 20000, rtcpPort: 20001 });
  const withRtcp = ours.replace("a=sendrecv", "a=rtcp:30001\r\na=sendrecv");
  assert.deepEqual(audioTarget(withRtcp), { address: "10.0.0.5", rtpPort: 20000, rtcpPort: 30001 });
  // A media-level c= wins over the session's.
  const mediaLevel = ours.replace("a=rtpmap:8", "c=IN IP4 192.0.2.7\r\na=rtpmap:8");
  assert.equal(audioTarget(mediaLevel).address, "192.0.2.7");
  // A declined stream first: the first active audio counts.
  const twoStreams = ours.replace("m=audio 20000", "m=audio 0 RTP/AVP 0\r\nm=audio 20000");
  assert.equal(audioTarget(twoStreams).rtpPort, 20000);
});

test("retarget points the audio elsewhere and keeps codecs and direction", () => {
  const out = retarget(ours, { address: "127.0.0.1", rtpPort: 40000, rtcpPort: 40001 });
  assert.deepEqual(audioTarget(out), { address: "127.0.0.1", rtpPort: 40000, rtcpPort: 40001 });
  const s = parse(out);
  assert.equal(s.origin?.sessionVersion, 8, "the version goes up (RFC 3264 §8)");
  assert.equal(s.origin?.sessionId, 1234);
  assert.equal(s.media[0].payloads, "8 101");
  assert.deepEqual(
    s.media[0].rtp.map((r) => r.codec),
    ["PCMA", "telephone-event"],
  );
  assert.equal(s.media[0].direction, "sendrecv");
  assert.match(out, /a=rtcp:40001 IN IP4 127\.0\.0\.1/);
  // And back again.
  assert.deepEqual(audioTarget(retarget(out, audioTarget(ours))), audioTarget(ours));
});

test("retarget to IPv6 writes IP6", () => {
  const out = retarget(ours, { address: "::1", rtpPort: 40000, rtcpPort: 40001 });
  assert.match(out, /c=IN IP6 ::1/);
});

test("an SDP without active audio or an address is a clear error", () => {
  assert.throws(() => audioTarget(ours.replace("m=audio 20000", "m=audio 0")), InnerSdpError);
  assert.throws(() => audioTarget(ours.replace("m=audio", "m=video")), /no active audio stream/);
  assert.throws(() => audioTarget(ours.replace("c=IN IP4 10.0.0.5\r\n", "")), /no c= line/);
  assert.throws(
    () => retarget("garbage", { address: "127.0.0.1", rtpPort: 1, rtcpPort: 2 }),
    /no active audio stream/,
  );
});
