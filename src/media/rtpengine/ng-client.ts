// A client of rtpengine's ng control protocol over UDP (rtpengine
// docs/ng_control_protocol.md): each request is one datagram
// `<cookie> <bencoded dictionary>`, and the reply carries the same cookie.
//
// UDP loses datagrams, so a request unanswered after `timeoutMs` is sent
// again, byte for byte with the same cookie: rtpengine keeps the replies of
// recent cookies and answers a retransmission from that cache instead of
// running an offer twice (which would allocate ports twice). After `retries`
// sends without a reply the request fails with a timeout error. Timers come
// from the injected clock.
//
// Replies are matched by cookie; a datagram from any other source, with an
// unknown cookie (a late reply to a request already answered or given up) or
// that is not bencode is logged and dropped: a stray packet never fails a
// request nor the process.
import { randomBytes } from "node:crypto";
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { BencodeError, decodeDict, encode } from "./bencode.ts";
import { deleteRequest, type NgRequest, offerRequest, queryRequest } from "./ng-params.ts";
import { deleteResult, NgReplyError, queryResult, sdpResult } from "./ng-reply.ts";
import type {
  NgAnswerParams,
  NgDeleteParams,
  NgDeleteResult,
  NgDict,
  NgOfferParams,
  NgQueryParams,
  NgQueryResult,
  NgSdpResult,
} from "./ng-types.ts";

export interface RtpengineClientOptions {
  /** The daemon's ng address (`--listen-ng`): an IPv4 or IPv6 literal. */
  host: string;
  port: number;
  clock: Clock;
  log?: Logger;
  /** Wait this long for a reply before sending again. Default 500 ms. */
  timeoutMs?: number;
  /** Sends of one request in all (the first and the retransmissions). Default 3. */
  retries?: number;
}

/** rtpengine answered `result: "error"`: its `error-reason`, with the command that failed. */
export class RtpengineError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
    readonly callId?: string,
  ) {
    super(`rtpengine ${command}${callId ? ` (call ${callId})` : ""} failed: ${reason}`);
    this.name = "RtpengineError";
  }
}

/** No reply after every retransmission: the daemon is down, unreachable or overloaded. */
export class RtpengineTimeoutError extends Error {
  constructor(
    readonly command: string,
    readonly address: string,
    readonly tries: number,
    readonly waitedMs: number,
  ) {
    super(`rtpengine ${command}: no answer from ${address} after ${tries} tries (${waitedMs} ms)`);
    this.name = "RtpengineTimeoutError";
  }
}

/** A UDP datagram larger than this cannot be sent (IPv4: 65535 − 20 − 8). */
const MAX_DATAGRAM = 65_507;

interface Pending {
  command: string;
  callId?: string;
  datagram: Buffer;
  sends: number;
  timer: Timer | null;
  resolve: (reply: NgDict) => void;
  reject: (err: Error) => void;
}

export class RtpengineClient {
  readonly host: string;
  readonly port: number;
  private readonly clock: Clock;
  private readonly log?: Logger;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly socket: Socket;
  /** `host` in canonical form, to recognise the daemon's replies. */
  private readonly hostKey: string;
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(opts: RtpengineClientOptions) {
    const family = isIP(opts.host);
    if (family === 0) throw new Error(`rtpengine client: host must be an IP address, not "${opts.host}"`);
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new Error(`rtpengine client: port ${opts.port} is not a UDP port`);
    }
    const timeoutMs = opts.timeoutMs ?? 500;
    const retries = opts.retries ?? 3;
    if (!(timeoutMs > 0)) throw new Error("rtpengine client: timeoutMs must be positive");
    if (!Number.isInteger(retries) || retries < 1)
      throw new Error("rtpengine client: retries must be 1 or more");
    this.host = opts.host;
    this.hostKey = canonical(opts.host);
    this.port = opts.port;
    this.clock = opts.clock;
    this.log = opts.log;
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    // A socket of our own, bound on first send to an ephemeral port.
    this.socket = createSocket(family === 6 ? "udp6" : "udp4");
    this.socket.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
    this.socket.on("error", (err) => this.log?.warn({ err }, "rtpengine control socket error"));
  }

  /** Resolves when the daemon answers `pong`. */
  async ping(): Promise<void> {
    const reply = await this.request({ command: "ping" });
    if (reply.result !== "pong") {
      throw new NgReplyError("ping", `expected "pong", got ${JSON.stringify(reply.result)}`);
    }
  }

  /** Hands the SDP of party `fromTag` to rtpengine; the result is the SDP for the other party. */
  async offer(params: NgOfferParams): Promise<NgSdpResult> {
    const reply = await this.request(offerRequest("offer", params), params.callId);
    return sdpResult("offer", reply);
  }

  /** Hands the answer SDP of party `toTag`; the result is the SDP for the offerer `fromTag`. */
  async answer(params: NgAnswerParams): Promise<NgSdpResult> {
    const reply = await this.request(offerRequest("answer", params), params.callId);
    return sdpResult("answer", reply);
  }

  /** Ends a call (or one branch of it); by default an unknown call is an error. */
  async delete(params: NgDeleteParams): Promise<NgDeleteResult> {
    const reply = await this.request(deleteRequest(params), params.callId);
    return deleteResult(reply);
  }

  async query(params: NgQueryParams): Promise<NgQueryResult> {
    const reply = await this.request(queryRequest(params), params.callId);
    return queryResult(reply);
  }

  /**
   * Sends any ng command and returns the reply dictionary (result "ok" or "pong");
   * `result: "error"` rejects with an RtpengineError.
   */
  request(dict: NgRequest, callId?: string): Promise<NgDict> {
    const command = typeof dict.command === "string" ? dict.command : "request";
    if (this.closed) return Promise.reject(new Error(`rtpengine ${command}: the client is closed`));
    let body: Buffer;
    try {
      body = encode(dict);
    } catch (err) {
      return Promise.reject(
        new Error(`rtpengine ${command}: cannot encode the request: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
    let cookie = newCookie();
    while (this.pending.has(cookie)) cookie = newCookie();
    const datagram = Buffer.concat([Buffer.from(`${cookie} `, "latin1"), body]);
    if (datagram.length > MAX_DATAGRAM) {
      return Promise.reject(
        new Error(`rtpengine ${command}: request of ${datagram.length} bytes does not fit a UDP datagram`),
      );
    }
    return new Promise<NgDict>((resolve, reject) => {
      const p: Pending = { command, callId, datagram, sends: 0, timer: null, resolve, reject };
      this.pending.set(cookie, p);
      this.send(cookie, p);
    });
  }

  /** Fails every request still waiting and closes the socket. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [cookie, p] of this.pending) {
      p.timer?.cancel();
      this.pending.delete(cookie);
      p.reject(new Error(`rtpengine ${p.command}: the client was closed before the daemon answered`));
    }
    try {
      this.socket.close();
    } catch (err) {
      // Already closed by Node after a fatal socket error: nothing left to release.
      this.log?.debug({ err }, "rtpengine control socket close");
    }
  }

  private send(cookie: string, p: Pending): void {
    p.sends++;
    if (p.sends > 1) {
      this.log?.debug(
        { callId: p.callId, command: p.command, cookie, send: p.sends },
        "rtpengine retransmit",
      );
    }
    // A send error (no route, buffer full, a socket Node closed) is not final: the timer
    // sends again or gives up with the timeout error.
    const failed = (err: unknown) =>
      this.log?.warn({ err, callId: p.callId, command: p.command }, "rtpengine send failed");
    try {
      this.socket.send(p.datagram, this.port, this.host, (err) => {
        if (err) failed(err);
      });
    } catch (err) {
      failed(err);
    }
    p.timer = this.clock.setTimer(this.timeoutMs, () => this.onTimer(cookie, p));
  }

  private onTimer(cookie: string, p: Pending): void {
    p.timer = null;
    if (this.pending.get(cookie) !== p) return;
    if (p.sends < this.retries) {
      this.send(cookie, p);
      return;
    }
    this.pending.delete(cookie);
    const err = new RtpengineTimeoutError(
      p.command,
      isIP(this.host) === 6 ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`,
      p.sends,
      p.sends * this.timeoutMs,
    );
    this.log?.warn({ callId: p.callId, command: p.command }, err.message);
    p.reject(err);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (rinfo.port !== this.port || canonical(rinfo.address) !== this.hostKey) {
      this.log?.debug(
        { from: `${rinfo.address}:${rinfo.port}` },
        "rtpengine client: datagram from a stranger dropped",
      );
      return;
    }
    const space = msg.indexOf(0x20);
    // Cookies are ours and short; a longer prefix cannot be one.
    if (space <= 0 || space > 64) {
      this.log?.debug("rtpengine client: datagram without a cookie dropped");
      return;
    }
    const cookie = msg.toString("latin1", 0, space);
    const p = this.pending.get(cookie);
    if (!p) {
      // A reply to a retransmission already answered, or to a request given up.
      this.log?.debug({ cookie }, "rtpengine client: reply with an unknown cookie dropped");
      return;
    }
    let reply: NgDict;
    try {
      reply = decodeDict(msg.subarray(space + 1));
    } catch (err) {
      // The daemon itself answered garbage: waiting for a retransmission would only get the same.
      // (decodeDict throws only BencodeError; anything else is reported the same way, never thrown
      // out of a socket callback.)
      this.finish(cookie, p);
      const why = err instanceof BencodeError ? err.message : String(err);
      this.log?.warn({ err, callId: p.callId, command: p.command }, "rtpengine reply is not bencode");
      p.reject(new NgReplyError(p.command, `malformed reply: ${why}`));
      return;
    }
    this.finish(cookie, p);
    const result = reply.result;
    if (result === "error") {
      const reason = typeof reply["error-reason"] === "string" ? reply["error-reason"] : "(no reason given)";
      p.reject(new RtpengineError(p.command, reason, p.callId));
      return;
    }
    if (result === "ok" || result === "pong") {
      p.resolve(reply);
      return;
    }
    // "load limit" (with `supports: ["load limit"]`) or anything unknown.
    const detail = typeof reply.message === "string" ? `: ${reply.message}` : "";
    p.reject(new RtpengineError(p.command, `result ${JSON.stringify(result)}${detail}`, p.callId));
  }

  private finish(cookie: string, p: Pending): void {
    p.timer?.cancel();
    p.timer = null;
    this.pending.delete(cookie);
  }
}

function newCookie(): string {
  return randomBytes(9).toString("base64url");
}

/** An IP literal in one spelling: IPv4-mapped IPv6 as IPv4, IPv6 in the RFC 5952 form. */
function canonical(address: string): string {
  const v4 = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  // A zone (fe80::1%eth0) is compared as written: the URL parser does not take one.
  if (isIP(v4) !== 6 || v4.includes("%")) return v4.toLowerCase();
  // The WHATWG URL parser writes IPv6 hosts in the RFC 5952 form.
  return new URL(`http://[${v4}]/`).hostname.slice(1, -1);
}
