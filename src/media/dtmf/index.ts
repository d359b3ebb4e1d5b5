// The DTMF room's public face: RFC 4733 events, SIP INFO bodies, in-band
// detection and tone synthesis.
export { InbandDtmfDetector, type InbandDtmfOptions } from "./goertzel.ts";
export {
  DTMF_EVENTS,
  digitToEvent,
  eventToDigit,
  parseTelephoneEvent,
  type TelephoneEvent,
  type TelephoneEventPacket,
  TelephoneEventReceiver,
  TelephoneEventSender,
  writeTelephoneEvent,
} from "./rfc4733.ts";
export { parseDtmfInfo } from "./sip-info.ts";
export { DTMF_COLUMNS, DTMF_ROWS, dtmfFrequencies, dtmfTone, toneSamples } from "./tone.ts";
