// Many phones behind one UDP socket, for the call benches: registers
// extensions, places authenticated calls (INVITE, 407, ACK, INVITE with
// credentials, 200, ACK ... BYE) and answers the calls the PBX sends to the
// registered ones. SIPp 3.6.1 cannot place these calls at load: it computes
// the digest uri once per run (-auth_uri), and the PBX checks it against a
// Request-URI that changes with every callee.
//
// The UA is deliberately small: UDP, or one TLS connection for every phone
// (the SRTP relay figure: the PBX takes SDES keys only over TLS, RFC 4568
// §8.3), retransmission of requests over UDP and of our 2xx (RFC 3261
// §17.1.1.2, §13.3.1.4) with T1 = 500 ms, no forking. With `srtp`, calls
// offer and answer AES_CM_128_HMAC_SHA1_80 keys (RFC 4568) and report the
// PBX's key for each leg, for the RTP generator to protect and unprotect with.
import { randomBytes } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import * as tls from "node:tls";
import {
  formatCryptoAttribute,
  generateCrypto,
  parseCryptoAttribute,
  type SdesCrypto,
} from "../../src/media/srtp/index.ts";
import {
  getHeader,
  getHeaders,
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from "../../src/sip/message/index.ts";
import { authorization, pickChallenge } from "./digest.ts";
import { DOMAIN, passwordOf } from "./pbx-process.ts";

const T1 = 500;
/** A request without any response after this long has failed. */
const TRANSACTION_TIMEOUT_MS = 8000;

interface ClientTx {
  resolveFinal: (r: SipResponse | null) => void;
  onProvisional?: (r: SipResponse) => void;
  data: Buffer;
  timer: NodeJS.Timeout | null;
  interval: number;
  deadline: number;
  gotProvisional: boolean;
}

interface Incoming {
  /** Last response sent for this INVITE, re-sent on a retransmitted INVITE. */
  response: Buffer;
  acked: boolean;
  timer: NodeJS.Timeout | null;
  interval: number;
  to: RemoteInfo;
}

export interface OutgoingCall {
  /** RTP port the PBX offered in its answer (its caller-side leg). */
  remoteRtpPort: number;
  remoteRtpAddress: string;
  /** The PBX's SRTP key for this leg (what it sends under), when the call is encrypted. */
  remoteCrypto?: SdesCrypto;
  hangup(): Promise<boolean>;
}

export interface CallFailure {
  failed: string;
}

/** What the callee side saw of a call: the PBX's offer (its callee-side RTP port). */
export interface AnsweredCall {
  remoteRtpPort: number;
  remoteRtpAddress: string;
  /** The PBX's SRTP key of the offer line we accepted, when we answered with a key. */
  remoteCrypto?: SdesCrypto;
}

/** The suite the bench's encrypted calls use: the one every SDES phone implements. */
export const BENCH_SRTP_PROFILE = "AES_CM_128_HMAC_SHA1_80" as const;

/** How the UA reaches the PBX: UDP to the SIP port, or one TLS connection to the TLS port. */
interface Wire {
  readonly transport: "UDP" | "TLS";
  readonly localPort: number;
  /** To the PBX (its SIP port over UDP; the connection over TLS). */
  send(data: Buffer): void;
  /** Back to where a request came from (over TLS: the connection). */
  reply(data: Buffer, to: RemoteInfo): void;
  close(): void;
}

export class LoadUa {
  private readonly txs = new Map<string, ClientTx>();
  private readonly incoming = new Map<string, Incoming>();
  /** callee extension → RTP port (and SRTP key) to answer with, and who to tell about the PBX offer. */
  private readonly expected = new Map<
    string,
    { port: number; crypto?: SdesCrypto; onCall: (c: AnsweredCall) => void }
  >();
  /** Call-ID of established outgoing calls → the ACK to resend when the 2xx is retransmitted. */
  private readonly acks = new Map<string, Buffer>();
  /** Answer port used for callees nobody registered an expectation for. */
  defaultAnswerPort = 9;
  readonly counters = { parseErrors: 0, retransmissions: 0, callsAnswered: 0, byesAnswered: 0 };

  readonly localPort: number;

  private constructor(private readonly wire: Wire) {
    this.localPort = wire.localPort;
  }

  /** Phones on one UDP socket, talking to the PBX's SIP port; `tlsPort`: on one TLS connection to it instead. */
  static async open(pbxPort: number, opts: { tlsPort?: number } = {}): Promise<LoadUa> {
    let ua: LoadUa | undefined;
    const deliver = (msg: Buffer, rinfo: RemoteInfo) => ua?.onMessage(msg, rinfo);
    ua = new LoadUa(
      opts.tlsPort === undefined ? await udpWire(pbxPort, deliver) : await tlsWire(opts.tlsPort, deliver),
    );
    return ua;
  }

  close(): void {
    for (const tx of this.txs.values()) if (tx.timer) clearTimeout(tx.timer);
    for (const inc of this.incoming.values()) if (inc.timer) clearTimeout(inc.timer);
    this.wire.close();
  }

  /**
   * Answer the next call to `callee` with SDP on `port`; `onCall` gets the
   * PBX's offer. With `crypto`, an offer with our suite among its keys is
   * answered with this key (its tag becomes the offer line's).
   */
  expect(callee: string, port: number, onCall: (c: AnsweredCall) => void, crypto?: SdesCrypto): void {
    this.expected.set(callee, { port, onCall, crypto });
  }

  async register(ext: string, expires = 3600): Promise<boolean> {
    const callId = `${token()}@bench`;
    const fromTag = token();
    const build = (cseq: number, auth?: string) =>
      [
        "REGISTER sip:bench.test SIP/2.0",
        this.via(),
        `From: <sip:${ext}@${DOMAIN}>;tag=${fromTag}`,
        `To: <sip:${ext}@${DOMAIN}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} REGISTER`,
        `Contact: ${this.contact(ext)}`,
        `Expires: ${expires}`,
        ...(auth ? [`Authorization: ${auth}`] : []),
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
    const first = await this.request(build(1));
    if (!first) return false;
    if (first.status !== 401) return first.status === 200;
    const ch = pickChallenge(getHeaders(first, "WWW-Authenticate"));
    if (!ch) return false;
    const second = await this.request(
      build(2, authorization(ch, ext, passwordOf(ext), "REGISTER", `sip:${DOMAIN}`)),
    );
    return second?.status === 200;
  }

  /**
   * Places an authenticated call offering PCMU on `rtpPort` (RTP/SAVP with
   * `crypto` as its key when given); resolves once it is answered and ACKed.
   */
  async call(
    caller: string,
    callee: string,
    rtpPort: number,
    crypto?: SdesCrypto,
  ): Promise<OutgoingCall | CallFailure> {
    const callId = `${token()}@bench`;
    const fromTag = token();
    const ruri = `sip:${callee}@${DOMAIN}`;
    const sdp = sdpBody(rtpPort, crypto && { protocol: "RTP/SAVP", crypto });
    const invite = (cseq: number, branch: string, auth?: string) =>
      [
        `INVITE ${ruri} SIP/2.0`,
        this.via(branch),
        `From: <sip:${caller}@${DOMAIN}>;tag=${fromTag}`,
        `To: <${ruri}>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} INVITE`,
        `Contact: ${this.contact(caller)}`,
        ...(auth ? [`Proxy-Authorization: ${auth}`] : []),
        "Max-Forwards: 70",
        "Content-Type: application/sdp",
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        "",
        sdp,
      ].join("\r\n");
    const branch1 = newBranch();
    const r1 = await this.request(invite(1, branch1), true);
    if (!r1) return { failed: "timeout" };
    let answer = r1;
    let cseq = 1;
    if (r1.status === 407 || r1.status === 401) {
      this.sendAckNon2xx(ruri, branch1, r1, 1);
      const ch = pickChallenge(getHeaders(r1, r1.status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate"));
      if (!ch) return { failed: "no challenge" };
      cseq = 2;
      const branch2 = newBranch();
      const auth = authorization(ch, caller, passwordOf(caller), "INVITE", ruri);
      const r2 = await this.request(invite(2, branch2, auth), true);
      if (!r2) return { failed: "timeout" };
      answer = r2;
      if (r2.status >= 300) {
        this.sendAckNon2xx(ruri, branch2, r2, 2);
        return { failed: String(r2.status) };
      }
    } else if (r1.status >= 300) {
      this.sendAckNon2xx(ruri, branch1, r1, 1);
      return { failed: String(r1.status) };
    }
    // RFC 3261 §13.2.2.4: ACK the 2xx to the Contact, in its own transaction.
    const to = getHeader(answer, "To") ?? "";
    const target = /<([^>]+)>/.exec(getHeader(answer, "Contact") ?? "")?.[1] ?? ruri;
    const routes = getHeaders(answer, "Record-Route").reverse();
    const inDialog = (method: string, n: number) =>
      [
        `${method} ${target} SIP/2.0`,
        this.via(),
        ...routes.map((r) => `Route: ${r}`),
        `From: <sip:${caller}@${DOMAIN}>;tag=${fromTag}`,
        `To: ${to}`,
        `Call-ID: ${callId}`,
        `CSeq: ${n} ${method}`,
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
    const ack = Buffer.from(inDialog("ACK", cseq));
    this.acks.set(callId, ack);
    this.send(ack);
    const media = parseSdp(answer.body.toString());
    let remoteCrypto: SdesCrypto | undefined;
    if (crypto) {
      // RFC 4568 §7.1.3: the answer repeats our tag and suite with the PBX's own key.
      remoteCrypto = media.crypto.find((c) => c.tag === crypto.tag && c.profile === crypto.profile);
      if (!remoteCrypto) {
        this.send(Buffer.from(inDialog("BYE", cseq + 1)));
        return { failed: "no SRTP key in the answer" };
      }
    }
    return {
      remoteRtpPort: media.port,
      remoteRtpAddress: media.address,
      remoteCrypto,
      hangup: async () => {
        const r = await this.request(inDialog("BYE", cseq + 1));
        this.acks.delete(callId);
        return r?.status === 200;
      },
    };
  }

  private via(branch = newBranch()): string {
    return `Via: SIP/2.0/${this.wire.transport} 127.0.0.1:${this.localPort};branch=${branch};rport`;
  }

  private contact(user: string): string {
    return this.wire.transport === "TLS"
      ? `<sip:${user}@127.0.0.1:${this.localPort};transport=tls>`
      : `<sip:${user}@127.0.0.1:${this.localPort}>`;
  }

  private sendAckNon2xx(ruri: string, branch: string, r: SipResponse, cseq: number): void {
    // RFC 3261 §17.1.1.3: same branch and Request-URI as the INVITE, To with the response's tag.
    const ack = [
      `ACK ${ruri} SIP/2.0`,
      this.via(branch),
      `From: ${getHeader(r, "From")}`,
      `To: ${getHeader(r, "To")}`,
      `Call-ID: ${getHeader(r, "Call-ID")}`,
      `CSeq: ${cseq} ACK`,
      "Max-Forwards: 70",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    this.send(Buffer.from(ack));
  }

  private send(data: Buffer): void {
    this.wire.send(data);
  }

  /** Sends a request and resolves its final response (null on timeout). */
  private request(text: string, invite = false): Promise<SipResponse | null> {
    const branch = /branch=([^;\s]+)/.exec(text)?.[1] ?? "";
    const data = Buffer.from(text);
    return new Promise((resolve) => {
      const tx: ClientTx = {
        resolveFinal: (r) => {
          if (tx.timer) clearTimeout(tx.timer);
          this.txs.delete(branch);
          resolve(r);
        },
        data,
        timer: null,
        interval: T1,
        deadline: performance.now() + TRANSACTION_TIMEOUT_MS,
        gotProvisional: false,
      };
      const retransmit = () => {
        if (performance.now() > tx.deadline) {
          tx.resolveFinal(null);
          return;
        }
        // An INVITE that got a provisional response is not retransmitted (§17.1.1.2),
        // nor anything over TLS (§17.1.1.2: Timer A is for unreliable transports).
        if (!(invite && tx.gotProvisional) && this.wire.transport === "UDP") {
          this.counters.retransmissions++;
          this.send(data);
        }
        tx.interval = Math.min(tx.interval * 2, 4000);
        tx.timer = setTimeout(retransmit, tx.interval);
      };
      this.txs.set(branch, tx);
      this.send(data);
      tx.timer = setTimeout(retransmit, tx.interval);
    });
  }

  private onMessage(data: Buffer, rinfo: RemoteInfo): void {
    let msg: SipMessage;
    try {
      msg = parseMessage(data);
    } catch {
      this.counters.parseErrors++;
      return;
    }
    if (msg.type === "response") this.onResponse(msg);
    else this.onRequest(msg, rinfo);
  }

  private onResponse(r: SipResponse): void {
    const branch = /branch=([^;\s,]+)/.exec(getHeader(r, "Via") ?? "")?.[1] ?? "";
    const tx = this.txs.get(branch);
    if (!tx) {
      // A retransmitted 2xx of an INVITE we already ACKed: our ACK was lost.
      if (r.status >= 200 && r.status < 300 && /INVITE/.test(getHeader(r, "CSeq") ?? "")) {
        const ack = this.acks.get(getHeader(r, "Call-ID") ?? "");
        if (ack) this.send(ack);
      }
      return;
    }
    if (r.status < 200) {
      tx.gotProvisional = true;
      return;
    }
    tx.resolveFinal(r);
  }

  private onRequest(req: SipRequest, rinfo: RemoteInfo): void {
    const callId = getHeader(req, "Call-ID") ?? "";
    const key = `${callId} ${req.method === "ACK" ? "INVITE" : req.method}`;
    if (req.method === "ACK") {
      const inc = this.incoming.get(`${callId} INVITE`);
      if (inc) {
        inc.acked = true;
        if (inc.timer) clearTimeout(inc.timer);
        inc.timer = null;
        // Kept a little for retransmitted INVITEs, then forgotten.
        setTimeout(() => this.incoming.delete(`${callId} INVITE`), 32_000).unref();
      }
      return;
    }
    const seen = this.incoming.get(key);
    if (seen) {
      this.wire.reply(seen.response, rinfo);
      return;
    }
    if (req.method === "INVITE") this.answer(req, rinfo, key);
    else if (req.method === "BYE") {
      this.counters.byesAnswered++;
      this.reply(req, rinfo, 200, "OK", key);
    } else
      this.reply(
        req,
        rinfo,
        req.method === "CANCEL" ? 200 : 405,
        req.method === "CANCEL" ? "OK" : "Method Not Allowed",
        key,
      );
  }

  private answer(req: SipRequest, rinfo: RemoteInfo, key: string): void {
    const callee = req.uri.user ?? "";
    const exp = this.expected.get(callee);
    if (exp) this.expected.delete(callee);
    const offer = parseSdp(req.body.toString());
    // With a key of ours: accept the offer's line of our suite, under its tag (RFC 4568 §7.1.2),
    // in the offer's own protocol (RTP/SAVP, or RTP/AVP for a best-effort offer).
    const theirs = exp?.crypto && offer.crypto.find((c) => c.profile === exp.crypto?.profile);
    const ours = theirs && exp?.crypto ? { ...exp.crypto, tag: theirs.tag } : undefined;
    exp?.onCall({ remoteRtpPort: offer.port, remoteRtpAddress: offer.address, remoteCrypto: theirs });
    const tag = token();
    const sdp = sdpBody(
      exp?.port ?? this.defaultAnswerPort,
      ours && { protocol: offer.protocol, crypto: ours },
    );
    const contact = this.contact(callee);
    this.wire.reply(Buffer.from(responseText(req, 180, "Ringing", tag, contact)), rinfo);
    const ok = Buffer.from(responseText(req, 200, "OK", tag, contact, sdp));
    const inc: Incoming = { response: ok, acked: false, timer: null, interval: T1, to: rinfo };
    this.incoming.set(key, inc);
    this.counters.callsAnswered++;
    this.wire.reply(ok, rinfo);
    // RFC 3261 §13.3.1.4: the 2xx is retransmitted until the ACK comes (at most 32 s).
    let elapsed = 0;
    const again = () => {
      if (inc.acked || elapsed > 32_000) {
        inc.timer = null;
        return;
      }
      this.counters.retransmissions++;
      this.wire.reply(ok, rinfo);
      elapsed += inc.interval;
      inc.interval = Math.min(inc.interval * 2, 4000);
      inc.timer = setTimeout(again, inc.interval);
    };
    inc.timer = setTimeout(again, inc.interval);
  }

  private reply(req: SipRequest, rinfo: RemoteInfo, status: number, reason: string, key: string): void {
    const data = Buffer.from(responseText(req, status, reason, undefined, this.contact(req.uri.user ?? "")));
    const inc: Incoming = { response: data, acked: true, timer: null, interval: T1, to: rinfo };
    this.incoming.set(key, inc);
    setTimeout(() => this.incoming.delete(key), 32_000).unref();
    this.wire.reply(data, rinfo);
  }
}

function responseText(
  req: SipRequest,
  status: number,
  reason: string,
  toTag: string | undefined,
  contact: string,
  sdp?: string,
): string {
  const to = getHeader(req, "To") ?? "";
  const lines = [
    `SIP/2.0 ${status} ${reason}`,
    ...getHeaders(req, "Via").map((v) => `Via: ${v}`),
    ...getHeaders(req, "Record-Route").map((r) => `Record-Route: ${r}`),
    `From: ${getHeader(req, "From")}`,
    `To: ${toTag && !/;\s*tag=/i.test(to) ? `${to};tag=${toTag}` : to}`,
    `Call-ID: ${getHeader(req, "Call-ID")}`,
    `CSeq: ${getHeader(req, "CSeq")}`,
  ];
  if (req.method === "INVITE") lines.push(`Contact: ${contact}`);
  if (sdp) lines.push("Content-Type: application/sdp", `Content-Length: ${Buffer.byteLength(sdp)}`, "", sdp);
  else lines.push("Content-Length: 0", "", "");
  return lines.join("\r\n");
}

/** PCMU only, 20 ms: the bench measures G.711 relay; with `srtp`, one a=crypto line (RFC 4568 §9.1). */
function sdpBody(port: number, srtp?: { protocol: string; crypto: SdesCrypto }): string {
  const id = Math.floor(Math.random() * 1e9);
  return [
    "v=0",
    `o=bench ${id} ${id} IN IP4 127.0.0.1`,
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} ${srtp?.protocol ?? "RTP/AVP"} 0 101`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-16",
    "a=ptime:20",
    "a=sendrecv",
    ...(srtp ? [`a=crypto:${formatCryptoAttribute(srtp.crypto)}`] : []),
    "",
  ].join("\r\n");
}

function parseSdp(text: string): { address: string; port: number; protocol: string; crypto: SdesCrypto[] } {
  const address = /^c=IN IP4 (\S+)/m.exec(text)?.[1] ?? "127.0.0.1";
  const m = /^m=audio (\d+) (\S+)/m.exec(text);
  const crypto: SdesCrypto[] = [];
  for (const line of text.match(/^a=crypto:.*$/gm) ?? []) {
    const r = parseCryptoAttribute(line.trim());
    if (r.ok) crypto.push(r.crypto);
  }
  return { address, port: Number(m?.[1] ?? 0), protocol: m?.[2] ?? "RTP/AVP", crypto };
}

/** A fresh key of the bench's suite, for one leg's offer or answer. */
export function benchCrypto(): SdesCrypto {
  return generateCrypto(1, BENCH_SRTP_PROFILE);
}

async function udpWire(pbxPort: number, deliver: (msg: Buffer, rinfo: RemoteInfo) => void): Promise<Wire> {
  const socket: Socket = createSocket({
    type: "udp4",
    recvBufferSize: 4 * 1024 * 1024,
    sendBufferSize: 4 * 1024 * 1024,
  });
  await new Promise<void>((res, rej) => {
    socket.once("error", rej);
    socket.bind(0, "127.0.0.1", () => res());
  });
  socket.on("error", () => {});
  socket.on("message", deliver);
  return {
    transport: "UDP",
    localPort: socket.address().port,
    send: (data) => socket.send(data, pbxPort, "127.0.0.1"),
    reply: (data, to) => socket.send(data, to.port, to.address),
    close: () => socket.close(),
  };
}

/**
 * One TLS connection to the PBX's TLS port for every phone (the PBX calls
 * each one back on it, RFC 5923), its stream cut into messages by
 * Content-Length (RFC 3261 §18.3); the PBX's self-signed certificate is
 * taken as it is.
 */
async function tlsWire(tlsPort: number, deliver: (msg: Buffer, rinfo: RemoteInfo) => void): Promise<Wire> {
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false }, () => resolve(s));
    s.once("error", reject);
  });
  socket.setNoDelay(true);
  socket.on("error", () => {});
  const from: RemoteInfo = { address: "127.0.0.1", family: "IPv4", port: tlsPort, size: 0 };
  let buffered: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped.
      let start = 0;
      while (start + 1 < buffered.length && buffered[start] === 13 && buffered[start + 1] === 10) start += 2;
      if (start > 0) buffered = buffered.subarray(start);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString("latin1");
      const length = Number(/^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head)?.[1] ?? 0);
      const total = end + 4 + length;
      if (buffered.length < total) return;
      deliver(Buffer.from(buffered.subarray(0, total)), from);
      buffered = buffered.subarray(total);
    }
  });
  return {
    transport: "TLS",
    localPort: socket.localPort ?? 0,
    send: (data) => void socket.write(data),
    reply: (data) => void socket.write(data),
    close: () => socket.destroy(),
  };
}

function token(): string {
  return randomBytes(6).toString("hex");
}

function newBranch(): string {
  return `z9hG4bK${randomBytes(8).toString("hex")}`;
}
