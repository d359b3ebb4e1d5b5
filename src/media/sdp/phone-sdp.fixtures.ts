// SDP bodies shaped like those of real phones, written by hand after the
// defaults of each client, for the offer/answer tests.

const crlf = (lines: string[]) => lines.join("\r\n") + "\r\n";

/** SIPp's default uac scenario (one PCMU stream). */
export const SIPP = crlf([
  "v=0",
  "o=user1 53655765 2353687637 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 6000 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
]);

/** SIPp offering PCMA and telephone-event on 97 (what play_dtmf sends). */
export const SIPP_DTMF = crlf([
  "v=0",
  "o=user1 53655765 2353687637 IN IP4 127.0.0.2",
  "s=-",
  "c=IN IP4 127.0.0.2",
  "t=0 0",
  "m=audio 6002 RTP/AVP 8 97",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:97 telephone-event/8000",
  "a=fmtp:97 0-15",
]);

/** baresip 1.0 with many codecs, LF line ends, opus first. */
export const BARESIP = [
  "v=0",
  "o=- 1383948411 2863093785 IN IP4 192.168.1.20",
  "s=-",
  "c=IN IP4 192.168.1.20",
  "t=0 0",
  "m=audio 10862 RTP/AVP 96 97 9 8 0 101",
  "b=AS:96",
  "a=rtpmap:96 opus/48000/2",
  "a=fmtp:96 stereo=1;sprop-stereo=1",
  "a=rtpmap:97 speex/16000",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=rtcp-rsize",
  "a=sendrecv",
  "a=label:1",
  "a=ssrc:1977434385 cname:e2b1e6a0-1c6e",
  "",
].join("\n");

/** Yealink/Polycom style: PCMA preferred, G.729, telephone-event on 101. */
export const YEALINK = crlf([
  "v=0",
  "o=- 20018 20018 IN IP4 10.0.0.51",
  "s=SDP data",
  "c=IN IP4 10.0.0.51",
  "t=0 0",
  "m=audio 11796 RTP/AVP 18 8 0 9 101",
  "a=rtpmap:18 G729/8000",
  "a=fmtp:18 annexb=no",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:9 G722/8000",
  "a=fmtp:101 0-15",
  "a=rtpmap:101 telephone-event/8000",
  "a=ptime:20",
  "a=sendrecv",
]);

/** IPv6 phone with a separate RTCP port (RFC 3605) and no a=rtpmap for PT 0. */
export const IPV6 = crlf([
  "v=0",
  "o=- 3847 1 IN IP6 2001:db8::10",
  "s=-",
  "c=IN IP6 2001:db8::10",
  "t=0 0",
  "m=audio 20000 RTP/AVP 0 101",
  "a=rtcp:20011 IN IP6 2001:db8::10",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:30",
]);

/** Video phone: video first, audio second with its own c= line. */
export const VIDEO_AUDIO = crlf([
  "v=0",
  "o=grandstream 8000 8000 IN IP4 10.0.0.60",
  "s=SIP Call",
  "c=IN IP4 10.0.0.60",
  "t=0 0",
  "m=video 9078 RTP/AVP 99 97",
  "a=rtpmap:99 H264/90000",
  "a=fmtp:99 profile-level-id=42801F; packetization-mode=1",
  "a=rtpmap:97 H263-1998/90000",
  "m=audio 9076 RTP/AVP 0 8 101",
  "c=IN IP4 10.0.0.61",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
]);

/** Only G.729: no common codec (488). */
export const G729_ONLY = crlf([
  "v=0",
  "o=- 1 1 IN IP4 10.0.0.70",
  "s=-",
  "c=IN IP4 10.0.0.70",
  "t=0 0",
  "m=audio 4000 RTP/AVP 18 101",
  "a=rtpmap:18 G729/8000",
  "a=rtpmap:101 telephone-event/8000",
]);

/** No audio stream at all (488). */
export const VIDEO_ONLY = crlf([
  "v=0",
  "o=- 1 1 IN IP4 10.0.0.71",
  "s=-",
  "c=IN IP4 10.0.0.71",
  "t=0 0",
  "m=video 5000 RTP/AVP 96",
  "a=rtpmap:96 VP8/90000",
]);

/** SRTP only (SDES): answered on a leg whose signalling is encrypted, 488 on a plain one. */
export const SRTP_ONLY = crlf([
  "v=0",
  "o=- 1 1 IN IP4 10.0.0.72",
  "s=-",
  "c=IN IP4 10.0.0.72",
  "t=0 0",
  "m=audio 5002 RTP/SAVP 0",
  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR",
]);

/** `base` with a direction attribute added to its audio stream (hold, RFC 3264 §8.4). */
export function withDirection(base: string, direction: string): string {
  return base.replace(/(m=audio [^\r\n]*\r?\n)/, `$1a=${direction}\r\n`).replace(/a=sendrecv\r?\n/, "");
}

/** `base` with every c= address replaced (RFC 2543 hold uses 0.0.0.0). */
export function withAddress(base: string, address: string): string {
  return base.replace(/c=IN IP4 [^\r\n]+/g, `c=IN IP4 ${address}`);
}
