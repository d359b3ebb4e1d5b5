// The parameters and results of the rtpengine ng commands vpbx uses, typed.
// Names follow the ng protocol documentation (rtpengine docs/ng_control_protocol.md,
// "offer Message" and following); the client maps them onto the wire keys
// ("call-id", "from-tag", "address family", ...).

/**
 * Flags of the `flags` list. rtpengine accepts a hyphen wherever its documentation writes a
 * space. The ones vpbx uses are named here; any other string the daemon knows may be passed.
 */
export type NgFlag =
  /** Use the addresses of the SDP (the default of rtpengine since 3.8; said for clarity). */
  | "trust-address"
  /** Ignore the SDP address, use `receivedFrom` (the SIP source). */
  | "SIP-source-address"
  /** Send back to where the peer's packets come from (the default unless asymmetric). */
  | "symmetric"
  /** The sender of this SDP uses asymmetric RTP: no endpoint learning, the SDP address is the truth. */
  | "asymmetric"
  /** After learning, drop packets from any other source. */
  | "strict-source"
  /** After learning, follow a new source instead of dropping it (opens hijacking). */
  | "media-handover"
  /** Keep rtpengine's local ports when the remote address changes in a re-offer. */
  | "port-latching"
  | "no-port-latching"
  /** Forget learnt ICE/SRTP support of the endpoint (valid in an offer). */
  | "reset"
  | "no-rtcp-attribute"
  | "full-rtcp-attribute"
  | "loop-protect"
  | "record-call"
  | "original-sendrecv"
  | "single-codec"
  | "reject-ICE"
  | "NAT-wait"
  | "pierce-NAT"
  | "debug"
  | (string & {});

/** The `replace` list: which parts of the SDP rtpengine rewrites besides the media lines. */
export type NgReplace =
  | "origin"
  | "session-connection"
  | "SDP-version"
  | "username"
  | "session-name"
  | "zero-address"
  | "force-increment-sdp-ver";

export type NgIce = "remove" | "force" | "default" | "force-relay" | "optional";
export type NgAddressFamily = "IP4" | "IP6";
export type NgTransportProtocol = "RTP/AVP" | "RTP/AVPF" | "RTP/SAVP" | "RTP/SAVPF";
export type NgEndpointLearning = "off" | "immediate" | "delayed" | "heuristic";

/** One party of a call: the SIP Call-ID and the tag of the party that sends this message. */
export interface NgPartyParams {
  callId: string;
  fromTag: string;
  /** SIP Via branch: tells forks of one offer apart. */
  viaBranch?: string;
}

/** `offer`: the SDP of the party `fromTag`, to be rewritten for the other party. */
export interface NgOfferParams extends NgPartyParams {
  sdp: string;
  /**
   * In an offer, the tag of the party the offer goes to, when already known (a re-offer
   * inside an established dialog, from either side).
   */
  toTag?: string;
  flags?: readonly NgFlag[];
  replace?: readonly NgReplace[];
  ICE?: NgIce;
  /** Logical interfaces [from, to] (`--interface=NAME/IP`); only in an initial offer. */
  direction?: readonly [string, string];
  addressFamily?: NgAddressFamily;
  /** A free label remembered for the party sending this SDP (logs, query). */
  label?: string;
  /** Overrides the address of the SDP and of `receivedFrom`. */
  mediaAddress?: string;
  /** The SIP message's source, used with the SIP-source-address flag. */
  receivedFrom?: readonly [NgAddressFamily, string];
  transportProtocol?: NgTransportProtocol;
  endpointLearning?: NgEndpointLearning;
  rtcpMux?: readonly ("offer" | "require" | "demux" | "accept" | "reject")[];
}

/** `answer`: the SDP of the party `toTag`, answering the offer of `fromTag`. */
export interface NgAnswerParams extends NgOfferParams {
  toTag: string;
}

export interface NgDeleteParams {
  callId: string;
  /** Without tags the whole call goes; with them, one branch. */
  fromTag?: string;
  toTag?: string;
  viaBranch?: string;
  /** Seconds before the call is forgotten (0: at once); default the daemon's `--delete-delay`. */
  deleteDelay?: number;
  /**
   * An unknown call is an error (`result: "error"`) instead of a warning. Default true: a delete
   * that found nothing is worth knowing; pass false when tidying up after a call that the
   * daemon may already have timed out.
   */
  fatal?: boolean;
}

export interface NgQueryParams {
  callId: string;
  fromTag?: string;
  toTag?: string;
}

/** The raw reply dictionary, for keys not typed here. */
export type NgDict = { [key: string]: unknown };

export interface NgSdpResult {
  /** The rewritten SDP, for the other party. */
  sdp: string;
  /** A non-fatal complaint of the daemon, if any. */
  warning?: string;
  raw: NgDict;
}

export interface NgDeleteResult {
  warning?: string;
  raw: NgDict;
}

export interface NgEndpoint {
  family: string;
  address: string;
  port: number;
}

export interface NgStreamStats {
  packets: number;
  bytes: number;
  errors: number;
}

export interface NgStream {
  localPort?: number;
  localAddress?: string;
  /** Where rtpengine sends (after learning). */
  endpoint?: NgEndpoint;
  /** What the SDP said. */
  advertisedEndpoint?: NgEndpoint;
  lastPacket?: number;
  flags: string[];
  stats?: NgStreamStats;
}

export interface NgMedia {
  index?: number;
  type?: string;
  protocol?: string;
  /** The codec in use (10.x), e.g. "PCMU/8000". */
  codec?: string;
  flags: string[];
  streams: NgStream[];
}

/** A media flow between two parties of a call (10.x: offer/answer or a subscription). */
export interface NgFlowRef {
  tag: string;
  type?: string;
}

export interface NgTag {
  tag: string;
  label?: string;
  created?: number;
  /** The other party of the offer/answer: "in dialogue with" (older daemons) or the offer/answer subscription (10.x). */
  inDialogueWith?: string;
  /** Parties this one receives media from (10.x). */
  subscriptions: NgFlowRef[];
  /** Parties this one sends media to (10.x). */
  subscribers: NgFlowRef[];
  medias: NgMedia[];
}

export interface NgQueryResult {
  created?: number;
  lastSignal?: number;
  /** By SIP tag. */
  tags: Record<string, NgTag>;
  totals?: { RTP?: NgStreamStats; RTCP?: NgStreamStats };
  raw: NgDict;
}
