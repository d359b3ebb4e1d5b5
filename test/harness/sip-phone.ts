// A scriptable SIP phone for integration tests: registers with digest auth,
// places and answers calls, sends and records RTP. It uses our message room
// for the wire format only and keeps its own minimal transaction and dialog
// logic (RFC 3261 §12-§17, loopback-simple), so that it tests the PBX rather
// than agreeing with it. Every wait has a timeout and its error says what was
// expected and which messages came instead.

import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createConnection, createServer, type Server, type Socket as TcpSocket } from "node:net";
import { createServer as createTlsServer, connect as tlsConnect } from "node:tls";
import { SrtpTransform } from "../../src/media/rtp/srtp-transform.ts";
import {
  cryptoAttributesByMedia,
  formatCryptoAttribute,
  generateCrypto,
  parseCryptoAttribute,
  type SdesCrypto,
} from "../../src/media/srtp/index.ts";
import {
  formatUri,
  getCallId,
  getContacts,
  getCSeq,
  getHeader,
  getHeaders,
  getTopVia,
  newBranch,
  newCallId,
  newTag,
  parseMessage,
  parseNameAddr,
  parseUri,
  StreamFramer,
  serializeMessage,
} from "../../src/sip/message/index.ts";
import type {
  HeaderField,
  SipMessage,
  SipRequest,
  SipResponse,
  SipUri,
} from "../../src/sip/message/types.ts";
import { createSelfSignedCertificate, type PemPair } from "../../src/util/tls-certificate.ts";
import { DigestClient, parseAuthParams, parseChallenge, verifyAuthorization } from "./digest.ts";
import { type CapturedPacket, RtpStream } from "./rtp.ts";
import {
  answerDirection,
  buildSdp,
  type Direction,
  type HarnessCodec,
  parseSdp,
  type RemoteMedia,
} from "./sdp.ts";
import { openWebSocket, type WsClient } from "./web-socket-client.ts";

export type HeaderInput = Record<string, string> | Array<[string, string]>;

export interface SipPhoneOptions {
  /**
   * SRTP with SDES keys (RFC 4568): the phone's SDP says RTP/SAVP with one
   * AES_CM_128_HMAC_SHA1_80 key, and its media is protected with the keys
   * agreed (test/harness/rtp.ts srtp). Only sensible over TLS.
   */
  srtp?: boolean;
  user: string;
  password: string;
  domain: string;
  /** Where every request goes (the PBX, or another phone for direct calls). */
  server: { host: string; port: number };
  /**
   * "TLS": SIP over TLS (RFC 3261 §26.2) with Node's tls, the server's
   * certificate not verified (as most phones do), Via SIP/2.0/TLS, Contact
   * ;transport=tls, and a listener with a self-signed certificate.
   * "WS", "WSS": a browser's phone (RFC 7118), as JsSIP is: one WebSocket to
   * ws(s)://server/sip with the subprotocol sip, opened by create() (the
   * certificate of WSS not verified), every message on it, Via
   * `SIP/2.0/WS <random>.invalid`, Contact `sip:<random>@<random>.invalid;transport=ws`,
   * and no listener: it is reached over its WebSocket only.
   */
  transport?: "UDP" | "TCP" | "TLS" | "WS" | "WSS";
  /** WS and WSS: the path of the WebSocket (default /sip). */
  webSocketPath?: string;
  /** Default 127.0.0.1; e.g. 127.0.0.2 to be a carrier with its own address. */
  localAddress?: string;
  /** Default 0 (any free port). */
  localPort?: number;
  displayName?: string;
  /** Print every message sent and received on stderr. */
  log?: boolean;
  /** Default timeout of every wait, in ms (5000). */
  timeoutMs?: number;
  /** Auth user name when it differs from `user`. */
  authUser?: string;
}

export interface ReplySpec {
  status: number;
  reason?: string;
  headers?: HeaderInput;
  body?: string | Buffer;
  contentType?: string;
}

/** A hook's answer: a response to send, "ignore" to send nothing, undefined for the default handling. */
export type RequestHook = (req: SipRequest) => ReplySpec | "ignore" | undefined;

export interface CallEnd {
  by: "local" | "remote";
  reason: "bye" | "cancel" | "rejected" | "timeout" | "closed";
  /** Final status for rejected/cancelled calls. */
  status?: number;
  message?: SipMessage;
}

export interface Peer {
  address: string;
  port: number;
  conn?: TcpSocket;
}

export interface TraceEntry {
  dir: "in" | "out";
  at: number;
  peer: string;
  text: string;
}

interface ClientTx {
  method: string;
  onProvisional?: (res: SipResponse) => void;
  resolve: (res: SipResponse) => void;
  /** Responses after the final one (retransmitted or forked 2xx to an INVITE). */
  onLate?: (res: SipResponse) => void;
  final?: SipResponse;
  timer?: NodeJS.Timeout;
}

interface ServerTx {
  response?: Buffer;
  peer: Peer;
  status: number;
}

const T1 = 500;
const T2 = 4000;

function headerList(input: HeaderInput | undefined): HeaderField[] {
  if (!input) return [];
  const entries = Array.isArray(input) ? input : Object.entries(input);
  return entries.map(([name, value]) => ({ name, value }));
}

function tagOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const t = parseNameAddr(value).params.tag;
    return t ?? undefined;
  } catch {
    return undefined;
  }
}

/** A promise with a timeout whose error names what was awaited and shows the recent messages. */
/** One certificate for every TLS harness phone of the process (an RSA key takes a while to make). */
let harnessCertificate: Promise<PemPair> | undefined;
export function harnessTlsCertificate(): Promise<PemPair> {
  harnessCertificate ??= createSelfSignedCertificate({
    addresses: ["127.0.0.1", "127.0.0.2", "::1"],
    hostnames: ["phone.test"],
    now: Date.now(),
  });
  return harnessCertificate;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class SipPhone {
  readonly user: string;
  readonly domain: string;
  /** SDES SRTP on its calls (SipPhoneOptions.srtp). */
  readonly srtp: boolean;
  readonly transport: "UDP" | "TCP" | "TLS" | "WS" | "WSS";
  readonly localAddress: string;
  localPort = 0;
  server: { host: string; port: number };
  readonly timeoutMs: number;
  /** Every message in and out, first line and full text, oldest first. */
  readonly trace: TraceEntry[] = [];
  /** Every request received (in and out of dialog). */
  readonly requests: SipRequest[] = [];
  /** Errors swallowed while handling input (parse errors, handler exceptions). */
  readonly errors: Error[] = [];
  /** Incoming calls, in arrival order. */
  readonly incomingCalls: IncomingCall[] = [];
  /** Called for each new incoming INVITE, after it has been answered with 100 Trying. */
  onIncomingCall?: (call: IncomingCall) => void;
  /** Out-of-dialog requests other than INVITE/CANCEL/ACK (e.g. REGISTER when the phone plays registrar). */
  onRequest?: RequestHook;
  /**
   * Play the server: challenge out-of-dialog requests of these methods
   * (default REGISTER and INVITE) and accept only a correct digest, so the
   * harness can check another client's digest (SIPp, baresip) without a PBX.
   */
  requireAuth?: {
    realm: string;
    password: string;
    status?: 401 | 407;
    methods?: string[];
    algorithm?: "MD5" | "SHA-256";
  };
  /** Digest credentials accepted while playing the server (user names, in order). */
  readonly authenticated: Array<{ method: string; username: string; uri: string }> = [];
  /** REGISTER requests answered 200 by the default registrar behaviour. */
  readonly registrations: Array<{ aor: string; contacts: string[]; expires: number; from: string }> = [];
  private readonly nonces = new Set<string>();

  private udp?: UdpSocket;
  private tcpServer?: Server;
  /** WS and WSS: the one WebSocket to the server. */
  private ws?: WsClient;
  private readonly webSocketPath: string;
  /** WS and WSS: the made-up host of Via and Contact, and the Contact's user, as JsSIP makes them. */
  private readonly invalidHost = `${randomBytes(6).toString("hex")}.invalid`;
  private readonly invalidUser = randomBytes(4).toString("hex");
  private readonly conns = new Map<string, TcpSocket>();
  private readonly connecting = new Map<string, Promise<TcpSocket>>();
  private readonly clientTx = new Map<string, ClientTx>();
  private readonly serverTx = new Map<string, ServerTx>();
  readonly dialogs = new Map<string, Call>();
  private digest: DigestClient;
  private readonly registerCallId = newCallId();
  private registerSeq = 0;
  private readonly displayName?: string;
  private readonly log: boolean;
  private callWaiters: Array<(c: IncomingCall) => void> = [];
  private callsTaken = 0;
  private requestWaiters: Array<{ method: string; resolve: (r: SipRequest) => void }> = [];
  private closed = false;
  private readonly calls = new Set<Call>();

  private constructor(opts: SipPhoneOptions) {
    this.user = opts.user;
    this.domain = opts.domain;
    this.transport = opts.transport ?? "UDP";
    this.srtp = opts.srtp ?? false;
    this.webSocketPath = opts.webSocketPath ?? "/sip";
    this.localAddress = opts.localAddress ?? "127.0.0.1";
    this.server = opts.server;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.displayName = opts.displayName;
    this.log = opts.log ?? false;
    this.digest = new DigestClient({ username: opts.authUser ?? opts.user, password: opts.password });
  }

  static async create(opts: SipPhoneOptions): Promise<SipPhone> {
    const phone = new SipPhone(opts);
    await phone.listen(opts.localPort ?? 0);
    return phone;
  }

  /**
   * Answers the next challenges with another password (a phone whose user
   * typed a new one), keeping everything else, its REGISTER Call-ID included.
   */
  usePassword(password: string, authUser = this.user): void {
    this.digest = new DigestClient({ username: authUser, password });
  }

  /** sip:user@domain, the address-of-record. */
  get aor(): string {
    return `sip:${this.user}@${this.domain}`;
  }

  /**
   * Where this phone can be reached directly: sip:user@127.0.0.1:port[;transport=tcp|tls];
   * over a WebSocket nowhere but on it: sip:<random>@<random>.invalid;transport=ws|wss.
   */
  get contactUri(): string {
    if (this.isWebSocket)
      return `sip:${this.invalidUser}@${this.invalidHost};transport=${this.transport.toLowerCase()}`;
    const host = this.localAddress.includes(":") ? `[${this.localAddress}]` : this.localAddress;
    const param = this.transport === "UDP" ? "" : `;transport=${this.transport.toLowerCase()}`;
    return `sip:${this.user}@${host}:${this.localPort}${param}`;
  }

  private get isWebSocket(): boolean {
    return this.transport === "WS" || this.transport === "WSS";
  }

  /** WS and WSS: the WebSocket to the server (undefined before create() returned, or for other transports). */
  get webSocket(): WsClient | undefined {
    return this.ws;
  }

  /**
   * WS and WSS: closes the WebSocket as a browser tab that goes away does
   * (1001 Going Away), and waits until it is closed.
   */
  async closeWebSocket(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === 3) return;
    const closed = new Promise<void>((resolve) => ws.on("close", () => resolve()));
    ws.close(1001, "tab closed");
    await withTimeout(closed, this.timeoutMs, () => `${this.user}: the WebSocket did not close`);
  }

  private async listen(port: number): Promise<void> {
    if (this.isWebSocket) {
      const scheme = this.transport === "WSS" ? "wss" : "ws";
      const host = this.server.host.includes(":") ? `[${this.server.host}]` : this.server.host;
      const url = `${scheme}://${host}:${this.server.port}${this.webSocketPath}`;
      const ws = await openWebSocket(url, ["sip"], { localAddress: this.localAddress });
      const peer: Peer = { address: this.server.host, port: this.server.port };
      // RFC 7118 §5.1: every WebSocket message is one SIP message.
      ws.on("message", (data) => this.onData(data, peer));
      ws.on("error", (e) => this.errors.push(e));
      this.ws = ws;
      return;
    }
    if (this.transport === "UDP") {
      const sock = createSocket(this.localAddress.includes(":") ? "udp6" : "udp4");
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(port, this.localAddress, () => {
          sock.off("error", reject);
          resolve();
        });
      });
      sock.on("error", (e) => this.errors.push(e));
      sock.on("message", (buf, rinfo) => this.onData(buf, { address: rinfo.address, port: rinfo.port }));
      this.udp = sock;
      this.localPort = sock.address().port;
    } else {
      const pem = this.transport === "TLS" ? await harnessTlsCertificate() : undefined;
      const server = pem
        ? createTlsServer({ cert: pem.cert, key: pem.key }, (sock) => this.adopt(sock))
        : createServer((sock) => this.adopt(sock));
      if (pem) server.on("tlsClientError", (e) => this.errors.push(e));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, this.localAddress, () => {
          server.off("error", reject);
          resolve();
        });
      });
      this.tcpServer = server;
      const addr = server.address();
      this.localPort = typeof addr === "object" && addr ? addr.port : 0;
    }
  }

  /** Reads SIP from a TCP connection (RFC 3261 §18.3: framing by Content-Length). */
  private adopt(sock: TcpSocket): void {
    const key = `${sock.remoteAddress}:${sock.remotePort}`;
    this.conns.set(key, sock);
    const framer = new StreamFramer();
    const peer: Peer = { address: sock.remoteAddress ?? "", port: sock.remotePort ?? 0, conn: sock };
    sock.on("data", (chunk) => {
      let items: Array<Buffer | "ping">;
      try {
        items = framer.push(chunk);
      } catch (e) {
        this.errors.push(e as Error);
        sock.destroy();
        return;
      }
      for (const item of items) {
        if (item === "ping")
          sock.write("\r\n"); // RFC 5626 §4.4.1: answer a CRLF keep-alive ping with a pong
        else this.onData(item, peer);
      }
    });
    sock.on("error", (e) => this.errors.push(e));
    sock.on("close", () => {
      if (this.conns.get(key) === sock) this.conns.delete(key);
    });
  }

  private async connection(host: string, port: number): Promise<TcpSocket> {
    const key = `${host}:${port}`;
    const existing = this.conns.get(key);
    if (existing && !existing.destroyed) return existing;
    const pending = this.connecting.get(key);
    if (pending) return pending;
    const p = new Promise<TcpSocket>((resolve, reject) => {
      // TLS: the server's certificate is not verified, as most phones do not.
      const sock =
        this.transport === "TLS"
          ? tlsConnect({
              socket: createConnection({ host, port, localAddress: this.localAddress }),
              rejectUnauthorized: false,
            })
          : createConnection({ host, port, localAddress: this.localAddress });
      sock.once("error", reject);
      sock.once(this.transport === "TLS" ? "secureConnect" : "connect", () => {
        sock.off("error", reject);
        this.adopt(sock);
        this.conns.set(key, sock);
        resolve(sock);
      });
    }).finally(() => this.connecting.delete(key));
    this.connecting.set(key, p);
    return p;
  }

  /** Sends a message to a peer (the server by default); over TCP, on the peer's connection or a new one. */
  async send(
    msg: SipMessage,
    peer: Peer = { address: this.server.host, port: this.server.port },
  ): Promise<void> {
    if (this.closed) throw new Error("phone closed");
    const buf = Buffer.from(serializeMessage(msg));
    this.record("out", peer, buf);
    await this.sendRaw(buf, peer);
  }

  /** Sends bytes as they are (for malformed-input tests). */
  async sendRaw(
    buf: Buffer | string,
    peer: Peer = { address: this.server.host, port: this.server.port },
  ): Promise<void> {
    const data = typeof buf === "string" ? Buffer.from(buf) : buf;
    if (this.ws) {
      // Whatever the peer: a browser has its one WebSocket. Text frames, as JsSIP sends.
      if (this.ws.readyState !== 1) throw new Error(`${this.user}: the WebSocket is closed`);
      this.ws.send(data, { binary: !isUtf8(data) });
      return;
    }
    if (this.udp) {
      const udp = this.udp;
      await new Promise<void>((resolve) => udp.send(data, peer.port, peer.address, () => resolve()));
      return;
    }
    const conn =
      peer.conn && !peer.conn.destroyed ? peer.conn : await this.connection(peer.address, peer.port);
    conn.write(data);
  }

  private record(dir: "in" | "out", peer: Peer, buf: Buffer): void {
    const text = buf.toString("utf8");
    this.trace.push({ dir, at: Date.now(), peer: `${peer.address}:${peer.port}`, text });
    if (this.trace.length > 2000) this.trace.splice(0, this.trace.length - 2000);
    if (this.log)
      process.stderr.write(
        `--- ${this.user} ${dir === "in" ? "<<" : ">>"} ${peer.address}:${peer.port}\n${text}\n`,
      );
  }

  /** The last `n` messages, first lines only, for error messages. */
  recent(n = 8): string {
    return this.trace
      .slice(-n)
      .map((t) => `  ${t.dir === "in" ? "<-" : "->"} ${t.text.split("\r\n", 1)[0]}`)
      .join("\n");
  }

  private onData(buf: Buffer, peer: Peer): void {
    if (this.closed) return;
    if (buf.length <= 4 && buf.toString("latin1").trim() === "") return; // keep-alive
    this.record("in", peer, buf);
    let msg: SipMessage;
    try {
      msg = parseMessage(buf);
    } catch (e) {
      this.errors.push(e as Error);
      return;
    }
    try {
      if (msg.type === "response") this.onResponse(msg);
      else this.onRequestIn(msg, peer);
    } catch (e) {
      this.errors.push(e as Error);
      if (this.log) process.stderr.write(`harness ${this.user}: ${(e as Error).stack}\n`);
    }
  }

  // --- client transactions (RFC 3261 §17.1, without retransmission: loopback) ---

  private onResponse(res: SipResponse): void {
    const via = getTopVia(res);
    const branch = via?.params.branch ?? "";
    const tx = this.clientTx.get(`${branch}|${getCSeq(res).method}`);
    if (!tx) return;
    if (tx.final) {
      tx.onLate?.(res);
      return;
    }
    if (res.status < 200) {
      tx.onProvisional?.(res);
      return;
    }
    tx.final = res;
    if (tx.timer) clearTimeout(tx.timer);
    if (tx.method === "INVITE" && res.status >= 300) {
      // §17.1.1.3: the ACK for a non-2xx final response belongs to the transaction.
      void this.send(this.ackForFailure(res)).catch((e) => this.errors.push(e));
    }
    tx.resolve(res);
    // Keep INVITE transactions a while for retransmitted 2xx (§13.2.2.4); others can go.
    const key = `${branch}|${tx.method}`;
    setTimeout(() => this.clientTx.delete(key), tx.method === "INVITE" ? 32_000 : 0).unref();
  }

  private readonly sentRequests = new Map<string, SipRequest>();

  private ackForFailure(res: SipResponse): SipRequest {
    const branch = getTopVia(res)?.params.branch ?? "";
    const invite = this.sentRequests.get(branch);
    const headers: HeaderField[] = [];
    if (invite) {
      headers.push({ name: "Via", value: getHeader(invite, "Via") ?? "" });
      for (const r of getHeaders(invite, "Route")) headers.push({ name: "Route", value: r });
    }
    headers.push(
      { name: "Max-Forwards", value: "70" },
      { name: "From", value: getHeader(res, "From") ?? "" },
      { name: "To", value: getHeader(res, "To") ?? "" },
      { name: "Call-ID", value: getCallId(res) },
      { name: "CSeq", value: `${getCSeq(res).seq} ACK` },
      { name: "Content-Length", value: "0" },
    );
    return {
      type: "request",
      method: "ACK",
      uri: invite ? invite.uri : parseUri(this.aor),
      headers,
      body: Buffer.alloc(0),
    };
  }

  /**
   * Sends a request and resolves with its final response. 401/407 are
   * answered once per nonce with digest credentials (RFC 3261 §22.2, §22.3):
   * `rebuild` gets a fresh CSeq and branch each time.
   */
  async request(
    build: (extra: HeaderField[]) => SipRequest,
    opts: {
      peer?: Peer;
      onProvisional?: (r: SipResponse) => void;
      onLate?: (r: SipResponse) => void;
      timeoutMs?: number;
      onSent?: (req: SipRequest) => void;
    } = {},
  ): Promise<SipResponse> {
    const extra: HeaderField[] = [];
    const tried = new Set<string>();
    for (;;) {
      const req = build(extra);
      opts.onSent?.(req);
      const res = await this.transact(req, opts);
      if (res.status !== 401 && res.status !== 407) return res;
      const header = res.status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
      const challenge = getHeaders(res, header)
        .map((v) => parseChallenge(v))
        .find((c) => c !== undefined);
      if (!challenge || (tried.has(challenge.nonce) && !challenge.stale) || tried.size >= 3) return res;
      tried.add(challenge.nonce);
      const name = res.status === 401 ? "Authorization" : "Proxy-Authorization";
      const value = this.digest.authorize(challenge, req.method, formatUri(req.uri), req.body);
      for (let i = extra.length - 1; i >= 0; i--) if (extra[i].name === name) extra.splice(i, 1);
      extra.push({ name, value });
    }
  }

  /** One client transaction: sends `req` and resolves with the final response. */
  transact(
    req: SipRequest,
    opts: {
      peer?: Peer;
      onProvisional?: (r: SipResponse) => void;
      onLate?: (r: SipResponse) => void;
      timeoutMs?: number;
    } = {},
  ): Promise<SipResponse> {
    const branch = getTopVia(req)?.params.branch ?? "";
    const key = `${branch}|${req.method}`;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    this.sentRequests.set(branch, req);
    if (this.sentRequests.size > 1000)
      this.sentRequests.delete(this.sentRequests.keys().next().value as string);
    return new Promise<SipResponse>((resolve, reject) => {
      const tx: ClientTx = {
        method: req.method,
        onProvisional: opts.onProvisional,
        onLate: opts.onLate,
        resolve,
      };
      tx.timer = setTimeout(() => {
        this.clientTx.delete(key);
        reject(
          new Error(
            `${this.user}: ${req.method} ${formatUri(req.uri)} got no final response within ${timeoutMs} ms; last messages:\n${this.recent()}`,
          ),
        );
      }, timeoutMs);
      this.clientTx.set(key, tx);
      this.send(req, opts.peer).catch((e) => {
        clearTimeout(tx.timer);
        this.clientTx.delete(key);
        reject(e);
      });
    });
  }

  /** A Via for a request we originate (RFC 3261 §8.1.1.7, rport per RFC 3581). */
  via(branch = newBranch()): HeaderField {
    // Over a WebSocket, as JsSIP writes it: a host that means nothing, no port, no rport (RFC 7118 §5.2).
    if (this.isWebSocket)
      return { name: "Via", value: `SIP/2.0/${this.transport} ${this.invalidHost};branch=${branch}` };
    return { name: "Via", value: `SIP/2.0/${this.transport} ${this.hostPort()};branch=${branch};rport` };
  }

  private hostPort(): string {
    const host = this.localAddress.includes(":") ? `[${this.localAddress}]` : this.localAddress;
    return `${host}:${this.localPort}`;
  }

  fromHeader(tag: string): string {
    const name = this.displayName ? `"${this.displayName.replace(/(["\\])/g, "\\$1")}" ` : "";
    return `${name}<${this.aor}>;tag=${tag}`;
  }

  // --- registration (RFC 3261 §10.2) ---

  /** REGISTER (answering a 401 challenge) and return the final response. */
  async register(
    opts: { expires?: number; contacts?: string[] | "*"; headers?: HeaderInput; timeoutMs?: number } = {},
  ): Promise<SipResponse> {
    const expires = opts.expires ?? (opts.contacts === "*" ? 0 : 3600);
    const contacts = opts.contacts === "*" ? ["*"] : (opts.contacts ?? [`<${this.contactUri}>`]);
    return this.request(
      (extra) => ({
        type: "request",
        method: "REGISTER",
        uri: parseUri(`sip:${this.domain}`),
        headers: [
          this.via(),
          { name: "Max-Forwards", value: "70" },
          { name: "From", value: this.fromHeader(newTag()) },
          { name: "To", value: `<${this.aor}>` },
          { name: "Call-ID", value: this.registerCallId },
          { name: "CSeq", value: `${++this.registerSeq} REGISTER` },
          ...contacts.map((c) => ({ name: "Contact", value: c })),
          { name: "Expires", value: String(expires) },
          { name: "User-Agent", value: "vpbx-harness" },
          ...headerList(opts.headers),
          ...extra,
          { name: "Content-Length", value: "0" },
        ],
        body: Buffer.alloc(0),
      }),
      { timeoutMs: opts.timeoutMs },
    );
  }

  /** Removes this phone's binding (Expires: 0). */
  unregister(opts: { timeoutMs?: number } = {}): Promise<SipResponse> {
    return this.register({ expires: 0, timeoutMs: opts.timeoutMs });
  }

  // --- calls ---

  /** "102" → sip:102@domain; "102@host" → sip:102@host; full URIs as given. */
  targetUri(target: string): string {
    if (/^(sips?|tel):/i.test(target)) return target;
    if (target.includes("@")) return `sip:${target}`;
    return `sip:${target}@${this.domain}`;
  }

  /**
   * Places a call: INVITE with an SDP offer for a fresh RTP port. Resolves as
   * soon as the INVITE is sent; use call.waitFor(...) for what comes back.
   */
  async call(
    target: string,
    opts: {
      codecs?: HarnessCodec[];
      sdp?: string;
      headers?: HeaderInput;
      dtmfPayloadType?: number | null;
      direction?: Direction;
      /** Send the INVITE without a body (delayed offer, RFC 3261 §13.2.1). */
      noSdp?: boolean;
    } = {},
  ): Promise<OutgoingCall> {
    const rtp = await RtpStream.open(this.localAddress);
    const call = new OutgoingCall(this, rtp, parseUri(this.targetUri(target)), opts);
    this.track(call);
    call.start();
    return call;
  }

  /** @internal */
  track(call: Call): void {
    this.calls.add(call);
  }

  /** @internal */
  registerDialog(call: Call): void {
    this.dialogs.set(`${call.callId}|${call.localTag}`, call);
  }

  /** Waits for the next incoming call not yet returned by waitForCall. */
  waitForCall(timeoutMs = this.timeoutMs): Promise<IncomingCall> {
    if (this.callsTaken < this.incomingCalls.length)
      return Promise.resolve(this.incomingCalls[this.callsTaken++]);
    let waiter: ((c: IncomingCall) => void) | undefined;
    const p = new Promise<IncomingCall>((resolve) => {
      waiter = (c) => resolve(c);
      this.callWaiters.push(waiter);
    });
    return withTimeout(p, timeoutMs, () => {
      this.callWaiters = this.callWaiters.filter((w) => w !== waiter);
      return `${this.user}: expected an incoming INVITE within ${timeoutMs} ms; last messages:\n${this.recent()}`;
    });
  }

  /** Waits for the next request of `method` received (any dialog). */
  waitForRequest(method: string, timeoutMs = this.timeoutMs): Promise<SipRequest> {
    let entry: { method: string; resolve: (r: SipRequest) => void } | undefined;
    const p = new Promise<SipRequest>((resolve) => {
      entry = { method, resolve };
      this.requestWaiters.push(entry);
    });
    return withTimeout(p, timeoutMs, () => {
      this.requestWaiters = this.requestWaiters.filter((w) => w !== entry);
      return `${this.user}: expected a ${method} within ${timeoutMs} ms; last messages:\n${this.recent()}`;
    });
  }

  /** Answers every incoming call: 180, then after `afterMs` the `status` (200 answers with SDP). */
  autoAnswer(
    opts: { afterMs?: number; status?: number; ring?: boolean; codecs?: HarnessCodec[] } = {},
  ): void {
    const status = opts.status ?? 200;
    this.onIncomingCall = (call) => {
      if (opts.ring ?? true) call.ring();
      const act = () => {
        if (call.state === "ended") return;
        if (status < 300) call.answer({ codecs: opts.codecs }).catch((e) => this.errors.push(e));
        else call.reject(status);
      };
      if (opts.afterMs) setTimeout(act, opts.afterMs);
      else act();
    };
  }

  /** Builds a response to `req` (RFC 3261 §8.2.6): Via, From, To (+tag), Call-ID, CSeq copied. */
  makeResponse(req: SipRequest, spec: ReplySpec, toTag?: string): SipResponse {
    const headers: HeaderField[] = [];
    for (const h of req.headers) {
      // RFC 3261 §12.1.1: Record-Route too, so that a proxy that record-routed stays in the dialog.
      if (
        h.name === "Via" ||
        h.name === "From" ||
        h.name === "Call-ID" ||
        h.name === "CSeq" ||
        h.name === "Record-Route"
      )
        headers.push(h);
      else if (h.name === "To") {
        const hasTag = tagOf(h.value) !== undefined;
        headers.push({
          name: "To",
          value: !hasTag && toTag && spec.status > 100 ? `${h.value};tag=${toTag}` : h.value,
        });
      }
    }
    const body = spec.body === undefined ? Buffer.alloc(0) : Buffer.from(spec.body);
    headers.push(...headerList(spec.headers));
    if (body.length > 0) headers.push({ name: "Content-Type", value: spec.contentType ?? "application/sdp" });
    headers.push({ name: "Content-Length", value: String(body.length) });
    return {
      type: "response",
      status: spec.status,
      reason: spec.reason ?? reasonPhrase(spec.status),
      headers,
      body,
    };
  }

  /** Sends a response within the server transaction of `req` (cached for retransmitted requests). */
  reply(req: SipRequest, peer: Peer, spec: ReplySpec, toTag?: string): SipResponse {
    const res = this.makeResponse(req, spec, toTag);
    const key = `${getTopVia(req)?.params.branch ?? ""}|${req.method}`;
    const buf = Buffer.from(serializeMessage(res));
    this.serverTx.set(key, { response: buf, peer, status: spec.status });
    if (this.serverTx.size > 2000) this.serverTx.delete(this.serverTx.keys().next().value as string);
    this.record("out", peer, buf);
    this.sendRaw(buf, peer).catch((e) => this.errors.push(e));
    return res;
  }

  // --- server side (RFC 3261 §17.2, §12.2.2) ---

  private onRequestIn(req: SipRequest, peer: Peer): void {
    this.requests.push(req);
    if (this.requests.length > 2000) this.requests.splice(0, 1000);
    this.requestWaiters = this.requestWaiters.filter((w) => {
      if (w.method !== req.method) return true;
      w.resolve(req);
      return false;
    });
    const branch = getTopVia(req)?.params.branch ?? "";
    const method = req.method;
    if (method !== "ACK" && method !== "CANCEL") {
      const known = this.serverTx.get(`${branch}|${method}`);
      if (known) {
        // A retransmitted request: repeat our last response (§17.2.1, §17.2.2).
        if (known.response) {
          this.record("out", peer, known.response);
          void this.sendRaw(known.response, peer).catch(() => {});
        }
        return;
      }
    }
    const callId = getCallId(req);
    const toTag = tagOf(getHeader(req, "To"));
    if (method === "CANCEL") {
      const call = this.incomingCalls.find((c) => c.inviteBranch === branch && c.callId === callId);
      if (!call) {
        this.reply(req, peer, { status: 481 });
        return;
      }
      this.reply(req, peer, { status: 200 }, call.localTag);
      call.onCancel(req);
      return;
    }
    if (method === "ACK") {
      // §17.2.1: an ACK with the INVITE's branch acknowledges a non-2xx final
      // response and stays in the transaction; an ACK for a 2xx is in the dialog.
      const inv = this.serverTx.get(`${branch}|INVITE`);
      if (inv && inv.status >= 300) return;
      this.dialogs.get(`${callId}|${toTag}`)?.onAck(req);
      return;
    }
    if (toTag) {
      const call = this.dialogs.get(`${callId}|${toTag}`);
      if (!call) {
        this.reply(req, peer, { status: 481 });
        return;
      }
      call.onInDialog(req, peer);
      return;
    }
    if (this.requireAuth && (this.requireAuth.methods ?? ["REGISTER", "INVITE"]).includes(method)) {
      if (!this.checkAuth(req, peer)) return;
    }
    if (method === "INVITE") {
      this.reply(req, peer, { status: 100 });
      void this.acceptInvite(req, peer).catch((e) => this.errors.push(e));
      return;
    }
    const hooked = this.onRequest?.(req);
    if (hooked === "ignore") return;
    if (hooked) {
      this.reply(req, peer, hooked, newTag());
      return;
    }
    if (method === "REGISTER") {
      // A minimal registrar (RFC 3261 §10.3 step 8): echo the bindings with their expiry.
      const contacts = getHeaders(req, "Contact");
      const expires = Number(getHeader(req, "Expires") ?? 3600);
      this.registrations.push({
        aor: getHeader(req, "To") ?? "",
        contacts,
        expires,
        from: `${peer.address}:${peer.port}`,
      });
      const headers: Array<[string, string]> = contacts
        .filter((c) => c !== "*")
        .map((c) => ["Contact", `${c};expires=${expires}`]);
      this.reply(req, peer, { status: 200, headers }, newTag());
      return;
    }
    const ok = method === "OPTIONS" || method === "NOTIFY" || method === "MESSAGE";
    this.reply(req, peer, ok ? { status: 200 } : { status: 501 }, newTag());
  }

  /** Checks the credentials of `req`; when missing or wrong, sends a fresh challenge (RFC 3261 §22.1). */
  private checkAuth(req: SipRequest, peer: Peer): boolean {
    const cfg = this.requireAuth!;
    const status = cfg.status ?? (req.method === "REGISTER" ? 401 : 407);
    const value = getHeader(req, status === 401 ? "Authorization" : "Proxy-Authorization");
    if (value) {
      const nonce = parseAuthParams(value.replace(/^\s*Digest\s+/i, "")).get("nonce") ?? "";
      const ok =
        this.nonces.has(nonce) &&
        verifyAuthorization(value, req.method, cfg.password, { realm: cfg.realm, nonce });
      if (ok) {
        this.authenticated.push({
          method: req.method,
          username: ok.get("username") ?? "",
          uri: ok.get("uri") ?? "",
        });
        return true;
      }
    }
    const nonce = newBranch().slice(7);
    this.nonces.add(nonce);
    const alg = cfg.algorithm ?? "MD5";
    this.reply(
      req,
      peer,
      {
        status,
        headers: [
          [
            status === 401 ? "WWW-Authenticate" : "Proxy-Authenticate",
            `Digest realm="${cfg.realm}", nonce="${nonce}", qop="auth", algorithm=${alg}`,
          ],
        ],
      },
      newTag(),
    );
    return false;
  }

  private async acceptInvite(req: SipRequest, peer: Peer): Promise<void> {
    const rtp = await RtpStream.open(this.localAddress);
    if (this.closed) {
      rtp.close();
      return;
    }
    const call = new IncomingCall(this, rtp, req, peer);
    this.track(call);
    this.registerDialog(call);
    this.incomingCalls.push(call);
    this.onIncomingCall?.(call);
    const waiter = this.callWaiters.shift();
    if (waiter) {
      this.callsTaken++;
      waiter(call);
    }
  }

  /** Ends calls, frees sockets and timers. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.calls) call.dispose();
    for (const tx of this.clientTx.values()) if (tx.timer) clearTimeout(tx.timer);
    this.clientTx.clear();
    this.udp?.close();
    this.ws?.terminate();
    for (const c of this.conns.values()) c.destroy();
    this.conns.clear();
    if (this.tcpServer) await new Promise<void>((resolve) => this.tcpServer?.close(() => resolve()));
  }
}

const REASONS: Record<number, string> = {
  100: "Trying",
  180: "Ringing",
  183: "Session Progress",
  200: "OK",
  202: "Accepted",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  500: "Server Internal Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  603: "Decline",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 200 ? "Progress" : status < 300 ? "OK" : "Error");
}

type WaitTarget = number | "ringing" | "early" | "answered" | "ended";

/** What one dialog does in both directions: in-dialog requests, media, ending. */
export abstract class Call {
  abstract readonly direction: "outgoing" | "incoming";
  readonly callId: string;
  readonly localTag: string;
  remoteTag?: string;
  /** From (outgoing) or To (incoming) as we write it, without tag. */
  protected localUri: string;
  protected remoteUri: string;
  protected localSeq = Math.floor(Math.random() * 1000) + 1;
  remoteTarget?: SipUri;
  /** Route set, in the order to put into Route headers (RFC 3261 §12.1). */
  routeSet: string[] = [];
  state: "calling" | "ringing" | "early" | "answered" | "ended" = "calling";
  /** Responses to our INVITE (outgoing calls), in order. */
  readonly responses: SipResponse[] = [];
  finalResponse?: SipResponse;
  /** The peer's media, from the latest SDP it sent. */
  remoteMedia?: RemoteMedia;
  /** The latest SDP we sent. */
  localSdp = "";
  protected sdpVersion = 1;
  protected readonly sdpSession = Math.floor(Math.random() * 1e9);
  protected direction_: Direction = "sendrecv";
  protected codecs: HarnessCodec[] = ["PCMU", "PCMA"];
  protected dtmfPt: number | null = 101;
  /** In-dialog requests received, in order. */
  readonly inDialogRequests: SipRequest[] = [];
  /** Digits received by SIP INFO (application/dtmf-relay or application/dtmf). */
  infoDigits = "";
  /** Per-method hooks for in-dialog requests; return a reply to override the default. */
  readonly onRequest: Partial<Record<string, RequestHook>> = {};
  readonly ended: Promise<CallEnd>;
  endInfo?: CallEnd;
  protected peer: Peer;
  private resolveEnded!: (e: CallEnd) => void;
  private listeners = new Set<() => void>();

  constructor(
    readonly phone: SipPhone,
    readonly rtp: RtpStream,
    init: { callId: string; localTag: string; localUri: string; remoteUri: string; peer: Peer },
  ) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.peer = init.peer;
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  /** Every RTP packet received. */
  get received(): CapturedPacket[] {
    return this.rtp.packets;
  }

  /** Received G.711 audio, decoded. */
  receivedPcm(): Int16Array {
    return this.rtp.receivedPcm();
  }

  /** RFC 4733 digits received on our telephone-event payload type (or `pt`). */
  receivedDigits(pt?: number): string {
    return this.rtp.receivedDigits(pt);
  }

  protected changed(): void {
    for (const l of [...this.listeners]) l();
  }

  protected end(info: CallEnd): void {
    if (this.endInfo) return;
    this.endInfo = info;
    this.state = "ended";
    this.rtp.stopSending();
    this.resolveEnded(info);
    this.changed();
  }

  private describe(): string {
    const fin = this.finalResponse ? `${this.finalResponse.status} ${this.finalResponse.reason}` : "none";
    return `state ${this.state}, final response ${fin}${this.endInfo ? `, ended by ${this.endInfo.by} (${this.endInfo.reason})` : ""}`;
  }

  /**
   * Waits until a response with `status` arrives (or has arrived), or the call
   * is ringing / answered / ended. Fails early when it can no longer happen.
   */
  waitFor(target: 180 | 183 | number, timeoutMs?: number): Promise<SipResponse>;
  waitFor(target: "ringing" | "early" | "answered", timeoutMs?: number): Promise<SipResponse | undefined>;
  waitFor(target: "ended", timeoutMs?: number): Promise<CallEnd>;
  waitFor(target: WaitTarget, timeoutMs = this.phone.timeoutMs): Promise<SipResponse | CallEnd | undefined> {
    const check = (): { ok: SipResponse | CallEnd | undefined } | { fail: string } | undefined => {
      if (target === "ended") return this.endInfo ? { ok: this.endInfo } : undefined;
      if (typeof target === "number") {
        const r = this.responses.find((x) => x.status === target);
        if (r) return { ok: r };
        if (this.finalResponse && this.finalResponse.status !== target)
          return {
            fail: `expected ${target}, got final ${this.finalResponse.status} ${this.finalResponse.reason}`,
          };
        if (this.endInfo) return { fail: `expected ${target}, but the call ended (${this.describe()})` };
        return undefined;
      }
      if (target === "answered") {
        if (this.state === "answered") return { ok: this.finalResponse };
        if (this.endInfo) return { fail: `expected the call answered, ${this.describe()}` };
        return undefined;
      }
      const r = this.responses.find((x) =>
        target === "ringing" ? x.status === 180 || x.status === 183 : x.status > 100 && x.status < 200,
      );
      if (r) return { ok: r };
      if (target === "ringing" && this.direction === "incoming" && this.state !== "calling")
        return { ok: undefined };
      if (this.finalResponse || this.endInfo) return { fail: `expected ${target}, ${this.describe()}` };
      return undefined;
    };
    return new Promise((resolve, reject) => {
      const done = () => {
        const c = check();
        if (!c) return false;
        this.listeners.delete(listener);
        clearTimeout(timer);
        if ("ok" in c) resolve(c.ok);
        else
          reject(
            new Error(
              `${this.phone.user} call ${this.callId}: ${c.fail}; last messages:\n${this.phone.recent()}`,
            ),
          );
        return true;
      };
      const listener = () => void done();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(
          new Error(
            `${this.phone.user} call ${this.callId}: expected ${target} within ${timeoutMs} ms, ${this.describe()}; last messages:\n${this.phone.recent()}`,
          ),
        );
      }, timeoutMs);
      this.listeners.add(listener);
      done();
    });
  }

  /** Waits for the next in-dialog request of `method`. */
  waitForRequest(method: string, timeoutMs = this.phone.timeoutMs): Promise<SipRequest> {
    const seen = this.inDialogRequests.length;
    return new Promise((resolve, reject) => {
      const listener = () => {
        const r = this.inDialogRequests.slice(seen).find((x) => x.method === method);
        if (!r) return;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(
          new Error(
            `${this.phone.user} call ${this.callId}: expected ${method} within ${timeoutMs} ms; last messages:\n${this.phone.recent()}`,
          ),
        );
      }, timeoutMs);
      this.listeners.add(listener);
    });
  }

  protected buildOurSdp(direction: Direction = this.direction_): string {
    let sdp = buildSdp({
      address: this.rtp.address,
      port: this.rtp.port,
      codecs: this.codecs,
      dtmfPt: this.dtmfPt,
      direction,
      sessionId: this.sdpSession,
      version: this.sdpVersion++,
      user: this.phone.user,
    });
    if (this.phone.srtp) {
      this.ownCrypto ??= generateCrypto(1, "AES_CM_128_HMAC_SHA1_80");
      sdp = sdp
        .replace(/^(m=audio \d+ )RTP\/AVP/m, "$1RTP/SAVP")
        .replace(/^(m=audio [^\r\n]*\r?\n)/m, `$1a=crypto:${formatCryptoAttribute(this.ownCrypto)}\r\n`);
    }
    this.localSdp = sdp;
    return this.localSdp;
  }

  /** Our SDES key (tag 1), kept for the whole call. */
  private ownCrypto: SdesCrypto | undefined;

  /** Applies an SDP from the peer: where to send, with which codec and event type. */
  protected applyRemoteSdp(msg: SipMessage): void {
    if (msg.body.length === 0) return;
    const type = (getHeader(msg, "Content-Type") ?? "").toLowerCase();
    if (!type.startsWith("application/sdp")) return;
    const media = parseSdp(msg.body.toString("utf8"));
    if (!media) return;
    this.remoteMedia = media;
    if (this.phone.srtp) {
      // The peer's key: the line under our tag in an answer, else the first AES_CM_128_HMAC_SHA1_80 line offered.
      const lines = cryptoAttributesByMedia(msg.body.toString("utf8"))[0] ?? [];
      const parsed = lines.map(parseCryptoAttribute).flatMap((r) => (r.ok ? [r.crypto] : []));
      const theirs = parsed.find((c) => c.profile === "AES_CM_128_HMAC_SHA1_80");
      if (theirs) {
        this.ownCrypto ??= generateCrypto(theirs.tag, "AES_CM_128_HMAC_SHA1_80");
        this.ownCrypto.tag = theirs.tag;
        if (!this.rtp.srtp) this.rtp.srtp = new SrtpTransform({ local: this.ownCrypto, remote: theirs });
      }
    }
    if (media.port > 0 && media.address) this.rtp.remote = { address: media.address, port: media.port };
    if (media.codec) this.rtp.codec = media.codec;
    if (media.dtmfPt !== undefined) this.rtp.dtmfPt = media.dtmfPt;
  }

  /** Builds an in-dialog request (RFC 3261 §12.2.1.1). */
  protected inDialog(
    method: string,
    extra: HeaderField[],
    body?: { text: string | Buffer; type: string },
    cseq?: number,
  ): SipRequest {
    const bodyBuf = body ? Buffer.from(body.text) : Buffer.alloc(0);
    const headers: HeaderField[] = [
      this.phone.via(),
      { name: "Max-Forwards", value: "70" },
      ...this.routeSet.map((r) => ({ name: "Route", value: r })),
      { name: "From", value: `${this.localUri};tag=${this.localTag}` },
      { name: "To", value: this.remoteTag ? `${this.remoteUri};tag=${this.remoteTag}` : this.remoteUri },
      { name: "Call-ID", value: this.callId },
      { name: "CSeq", value: `${cseq ?? ++this.localSeq} ${method}` },
      { name: "Contact", value: `<${this.phone.contactUri}>` },
      ...extra,
    ];
    if (body) headers.push({ name: "Content-Type", value: body.type });
    headers.push({ name: "Content-Length", value: String(bodyBuf.length) });
    return {
      type: "request",
      method,
      uri: this.remoteTarget ?? parseUri(this.remoteUri.replace(/^.*<|>.*$/g, "")),
      headers,
      body: bodyBuf,
    };
  }

  /** Sends an in-dialog request (answering a challenge if needed) and returns the final response. */
  sendRequest(
    method: string,
    opts: { body?: string | Buffer; contentType?: string; headers?: HeaderInput; timeoutMs?: number } = {},
  ): Promise<SipResponse> {
    const body =
      opts.body !== undefined ? { text: opts.body, type: opts.contentType ?? "application/sdp" } : undefined;
    return this.phone.request(
      (extra) => this.inDialog(method, [...headerList(opts.headers), ...extra], body),
      {
        peer: this.peer,
        timeoutMs: opts.timeoutMs,
      },
    );
  }

  /** Hangs up an established call. */
  async bye(opts: { headers?: HeaderInput; timeoutMs?: number } = {}): Promise<SipResponse> {
    if (this.state !== "answered")
      throw new Error(`${this.phone.user}: bye() on a call that is not answered (${this.describe()})`);
    this.rtp.stopSending();
    const res = await this.sendRequest("BYE", opts);
    this.end({ by: "local", reason: "bye", status: res.status, message: res });
    return res;
  }

  /** re-INVITE with a new direction (RFC 3264 §8.4: hold is a=sendonly). */
  async reinvite(direction: Direction, opts: { timeoutMs?: number } = {}): Promise<SipResponse> {
    this.direction_ = direction;
    const sdp = this.buildOurSdp(direction);
    let sentCseq = 0;
    const res = await this.phone.request(
      (extra) => this.inDialog("INVITE", extra, { text: sdp, type: "application/sdp" }),
      {
        peer: this.peer,
        timeoutMs: opts.timeoutMs,
        onSent: (req) => {
          sentCseq = getCSeq(req).seq;
        },
      },
    );
    if (res.status >= 200 && res.status < 300) {
      this.applyRemoteSdp(res);
      // §13.2.2.4: the ACK of a 2xx is a new transaction with the INVITE's CSeq number.
      await this.phone.send(this.inDialog("ACK", [], undefined, sentCseq), this.peer);
    }
    return res;
  }

  hold(): Promise<SipResponse> {
    return this.reinvite("sendonly");
  }

  resume(): Promise<SipResponse> {
    return this.reinvite("sendrecv");
  }

  /** A digit by SIP INFO: application/dtmf-relay ("Signal=5") or application/dtmf ("5"). */
  sendInfoDigit(digit: string, kind: "dtmf-relay" | "dtmf" = "dtmf-relay"): Promise<SipResponse> {
    return kind === "dtmf-relay"
      ? this.sendRequest("INFO", {
          body: `Signal=${digit}\r\nDuration=160\r\n`,
          contentType: "application/dtmf-relay",
        })
      : this.sendRequest("INFO", { body: digit, contentType: "application/dtmf" });
  }

  /** RFC 4733 events for `digits` on the negotiated (or given) payload type. */
  sendRfc4733(
    digits: string,
    opts: { payloadType?: number; durationMs?: number; gapMs?: number } = {},
  ): Promise<void> {
    return this.rtp.sendRfc4733(digits, opts);
  }

  /** In-band DTMF tones encoded with the call's codec. */
  sendInband(digits: string, opts: { durationMs?: number; gapMs?: number } = {}): Promise<void> {
    return this.rtp.sendInband(digits, opts);
  }

  /** Plays 8 kHz samples in 20 ms packets; resolves when sent. */
  playAudio(pcm: Int16Array): Promise<void> {
    return this.rtp.playAudio(pcm);
  }

  /** A continuous tone (0: silence) until stopSending(). */
  startSendingTone(freq: number, amplitude?: number): void {
    this.rtp.startSendingTone(freq, amplitude);
  }

  stopSending(): void {
    this.rtp.stopSending();
  }

  /** @internal: a request inside this dialog (§12.2.2). */
  onInDialog(req: SipRequest, peer: Peer): void {
    this.inDialogRequests.push(req);
    const hook = this.onRequest[req.method]?.(req);
    if (hook === "ignore") {
      this.changed();
      return;
    }
    if (hook) {
      this.phone.reply(req, peer, hook);
      if (req.method === "BYE" && hook.status < 300) this.end({ by: "remote", reason: "bye", message: req });
      this.changed();
      return;
    }
    switch (req.method) {
      case "BYE":
        this.phone.reply(req, peer, { status: 200 });
        this.end({ by: "remote", reason: "bye", message: req });
        break;
      case "INVITE": {
        this.applyRemoteSdp(req);
        const offered = this.remoteMedia?.direction ?? "sendrecv";
        const sdp = this.buildOurSdp(answerDirection(offered, this.direction_));
        this.phone.reply(req, peer, {
          status: 200,
          body: sdp,
          headers: { Contact: `<${this.phone.contactUri}>` },
        });
        break;
      }
      case "INFO": {
        const text = req.body.toString("utf8");
        const type = (getHeader(req, "Content-Type") ?? "").toLowerCase();
        const m = type.includes("dtmf-relay")
          ? /Signal\s*=\s*([0-9*#A-Da-d])/.exec(text)
          : /^\s*([0-9*#A-Da-d])/.exec(text);
        if (m) this.infoDigits += m[1].toUpperCase();
        this.phone.reply(req, peer, { status: 200 });
        break;
      }
      default:
        this.phone.reply(req, peer, { status: 200 });
    }
    this.changed();
  }

  /** @internal */
  onAck(_req: SipRequest): void {}

  /** @internal: stops media and timers without signalling (phone.close()). */
  dispose(): void {
    if (!this.endInfo) this.end({ by: "local", reason: "closed" });
    this.rtp.close();
  }
}

/** A call we placed. */
export class OutgoingCall extends Call {
  readonly direction = "outgoing" as const;
  private inviteReq?: SipRequest;
  private cancelled = false;
  private ackBuf?: SipRequest;
  private readonly target: SipUri;
  private readonly extraHeaders: HeaderField[];
  private readonly customSdp?: string;
  private readonly noSdp: boolean;

  constructor(
    phone: SipPhone,
    rtp: RtpStream,
    target: SipUri,
    opts: {
      codecs?: HarnessCodec[];
      sdp?: string;
      headers?: HeaderInput;
      dtmfPayloadType?: number | null;
      direction?: Direction;
      noSdp?: boolean;
    },
  ) {
    super(phone, rtp, {
      callId: newCallId(),
      localTag: newTag(),
      localUri: phone.fromHeader("x").replace(/;tag=x$/, ""),
      remoteUri: `<${formatUri(target)}>`,
      peer: { address: phone.server.host, port: phone.server.port },
    });
    this.target = target;
    if (opts.codecs) this.codecs = opts.codecs;
    if (opts.dtmfPayloadType !== undefined) this.dtmfPt = opts.dtmfPayloadType;
    if (opts.direction) this.direction_ = opts.direction;
    this.rtp.receiveDtmfPt = this.dtmfPt ?? 101;
    this.extraHeaders = headerList(opts.headers);
    this.customSdp = opts.sdp;
    this.noSdp = opts.noSdp ?? false;
    phone.registerDialog(this);
  }

  /** @internal */
  start(): void {
    const sdp = this.noSdp ? undefined : (this.customSdp ?? this.buildOurSdp());
    if (this.customSdp) this.localSdp = this.customSdp;
    this.phone
      .request(
        (extra) => {
          const bodyBuf = sdp ? Buffer.from(sdp) : Buffer.alloc(0);
          const req: SipRequest = {
            type: "request",
            method: "INVITE",
            uri: this.target,
            headers: [
              this.phone.via(),
              { name: "Max-Forwards", value: "70" },
              { name: "From", value: `${this.localUri};tag=${this.localTag}` },
              { name: "To", value: this.remoteUri },
              { name: "Call-ID", value: this.callId },
              { name: "CSeq", value: `${++this.localSeq} INVITE` },
              { name: "Contact", value: `<${this.phone.contactUri}>` },
              { name: "Allow", value: "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS, UPDATE, NOTIFY" },
              { name: "User-Agent", value: "vpbx-harness" },
              ...this.extraHeaders,
              ...extra,
              ...(sdp ? [{ name: "Content-Type", value: "application/sdp" }] : []),
              { name: "Content-Length", value: String(bodyBuf.length) },
            ],
            body: bodyBuf,
          };
          return req;
        },
        {
          peer: this.peer,
          timeoutMs: 60_000,
          onSent: (req) => {
            this.inviteReq = req;
          },
          onProvisional: (res) => this.onProvisional(res),
          onLate: (res) => this.onLateResponse(res),
        },
      )
      .then(
        (res) => this.onFinal(res),
        () => this.end({ by: "local", reason: "timeout" }),
      );
  }

  private onProvisional(res: SipResponse): void {
    this.responses.push(res);
    const tag = tagOf(getHeader(res, "To"));
    if (res.status > 100 && tag && this.state === "calling") {
      this.state = res.status === 180 ? "ringing" : "early";
      this.remoteTag = tag;
    }
    this.applyRemoteSdp(res);
    this.changed();
  }

  private onFinal(res: SipResponse): void {
    this.responses.push(res);
    this.finalResponse = res;
    if (res.status >= 300) {
      // The transaction already ACKed it (§17.1.1.3).
      this.end(
        this.cancelled && res.status === 487
          ? { by: "local", reason: "cancel", status: res.status, message: res }
          : { by: "remote", reason: "rejected", status: res.status, message: res },
      );
      return;
    }
    this.establish(res);
    if (this.cancelled) void this.bye().catch(() => {});
  }

  private establish(res: SipResponse): void {
    // §12.1.2: the dialog takes the remote tag, target and reversed Record-Route.
    this.remoteTag = tagOf(getHeader(res, "To"));
    const contact = getContacts(res)[0];
    if (contact && typeof contact === "object" && "uri" in contact) this.remoteTarget = contact.uri;
    this.routeSet = getHeaders(res, "Record-Route").reverse();
    this.applyRemoteSdp(res);
    this.state = "answered";
    this.ackBuf = this.inDialog("ACK", [], undefined, getCSeq(res).seq);
    void this.phone.send(this.ackBuf, this.peer).catch(() => {});
    this.changed();
  }

  private onLateResponse(res: SipResponse): void {
    if (res.status < 200 || res.status >= 300) return;
    const tag = tagOf(getHeader(res, "To"));
    if (tag === this.remoteTag && this.ackBuf) {
      // §13.2.2.4: a retransmitted 2xx gets the same ACK again.
      void this.phone.send(this.ackBuf, this.peer).catch(() => {});
    }
  }

  /** CANCEL the INVITE (RFC 3261 §9.1); waits for a provisional first, as required. */
  async cancel(opts: { timeoutMs?: number } = {}): Promise<SipResponse> {
    if (this.state === "calling" && !this.finalResponse && !this.responses.some((r) => r.status < 200))
      await this.waitFor(100, opts.timeoutMs).catch(() => this.waitFor("ringing", opts.timeoutMs));
    const invite = this.inviteReq;
    if (!invite || this.finalResponse)
      throw new Error(
        `${this.phone.user}: cancel() after the final response (${this.finalResponse?.status})`,
      );
    this.cancelled = true;
    const pick = (name: string) => getHeader(invite, name) ?? "";
    const req: SipRequest = {
      type: "request",
      method: "CANCEL",
      uri: invite.uri,
      headers: [
        { name: "Via", value: pick("Via") },
        { name: "Max-Forwards", value: "70" },
        ...getHeaders(invite, "Route").map((r) => ({ name: "Route", value: r })),
        { name: "From", value: pick("From") },
        { name: "To", value: pick("To") },
        { name: "Call-ID", value: this.callId },
        { name: "CSeq", value: `${getCSeq(invite).seq} CANCEL` },
        { name: "Content-Length", value: "0" },
      ],
      body: Buffer.alloc(0),
    };
    return this.phone.transact(req, { peer: this.peer, timeoutMs: opts.timeoutMs });
  }
}

/** A call that came to us. */
export class IncomingCall extends Call {
  readonly direction = "incoming" as const;
  readonly inviteBranch: string;
  private answerTimer?: NodeJS.Timeout;
  private acked = false;
  private finalSent = false;

  constructor(
    phone: SipPhone,
    rtp: RtpStream,
    readonly request: SipRequest,
    peer: Peer,
  ) {
    const to = getHeader(request, "To") ?? "";
    super(phone, rtp, {
      callId: getCallId(request),
      localTag: newTag(),
      localUri: to,
      remoteUri: (getHeader(request, "From") ?? "").replace(/;\s*tag=[^;]*/i, ""),
      peer,
    });
    this.inviteBranch = getTopVia(request)?.params.branch ?? "";
    this.remoteTag = tagOf(getHeader(request, "From"));
    const contact = getContacts(request)[0];
    if (contact && typeof contact === "object" && "uri" in contact) this.remoteTarget = contact.uri;
    this.routeSet = getHeaders(request, "Record-Route");
    this.localSeq = Math.floor(Math.random() * 1000) + 1;
    this.applyRemoteSdp(request);
    // RFC 3264 §6.1: answer with the offerer's telephone-event number.
    if (this.remoteMedia?.dtmfPt !== undefined) this.dtmfPt = this.remoteMedia.dtmfPt;
    this.rtp.receiveDtmfPt = this.dtmfPt ?? 101;
  }

  /** The caller as written in From. */
  get from(): string {
    return getHeader(this.request, "From") ?? "";
  }

  /** The INVITE's Request-URI user (the dialled number). */
  get dialled(): string | undefined {
    return this.request.uri.user;
  }

  /** 180 Ringing (or another provisional). */
  ring(status = 180, opts: { sdp?: boolean } = {}): void {
    if (this.finalSent) return;
    this.state = "ringing";
    this.phone.reply(
      this.request,
      this.peer,
      {
        status,
        body: opts.sdp ? this.buildOurSdp() : undefined,
        headers: { Contact: `<${this.phone.contactUri}>` },
      },
      this.localTag,
    );
    this.changed();
  }

  /**
   * 200 OK with an SDP answer; retransmitted until the ACK (RFC 3261
   * §13.3.1.4). Resolves once sent; waitForAck() confirms the ACK.
   */
  async answer(opts: { codecs?: HarnessCodec[]; sdp?: string; headers?: HeaderInput } = {}): Promise<void> {
    if (this.finalSent)
      throw new Error(`${this.phone.user}: answer() after a final response (${this.describeState()})`);
    const offered = this.remoteMedia;
    const allowed = opts.codecs ?? this.codecs;
    if (offered) {
      const pick = offered.payloads
        .map((pt) => offered.codecs.get(pt)?.name.toUpperCase())
        .find((n): n is HarnessCodec => (n === "PCMU" || n === "PCMA") && allowed.includes(n));
      if (!pick) {
        this.reject(488);
        throw new Error(`${this.phone.user}: no common codec in the offer (${offered.payloads.join(" ")})`);
      }
      this.codecs = [pick];
      this.rtp.codec = pick;
      if (offered.dtmfPt === undefined) this.dtmfPt = null;
    } else this.codecs = allowed;
    const sdp =
      opts.sdp ??
      this.buildOurSdp(offered ? answerDirection(offered.direction, this.direction_) : this.direction_);
    this.finalSent = true;
    this.state = "answered";
    this.finalResponse = this.phone.reply(
      this.request,
      this.peer,
      {
        status: 200,
        body: sdp,
        headers: [["Contact", `<${this.phone.contactUri}>`], ...toPairs(opts.headers)],
      },
      this.localTag,
    );
    this.changed();
    let interval = T1;
    let elapsed = 0;
    const resend = () => {
      if (this.acked || this.state === "ended" || elapsed >= 64 * T1) return;
      void this.phone.send(this.finalResponse!, this.peer).catch(() => {});
      elapsed += interval;
      interval = Math.min(interval * 2, T2);
      this.answerTimer = setTimeout(resend, interval);
    };
    this.answerTimer = setTimeout(resend, interval);
  }

  private describeState(): string {
    return `state ${this.state}`;
  }

  /** Final error response (486, 603...), or a redirect (302 with a Contact header). */
  reject(status: number, reason?: string, headers?: HeaderInput): void {
    if (this.finalSent) return;
    this.finalSent = true;
    this.finalResponse = this.phone.reply(
      this.request,
      this.peer,
      { status, reason, headers },
      this.localTag,
    );
    this.end({ by: "local", reason: "rejected", status });
  }

  /** Resolves when the ACK for our 200 has arrived. */
  waitForAck(timeoutMs = this.phone.timeoutMs): Promise<void> {
    if (this.acked) return Promise.resolve();
    return this.waitForRequest("ACK", timeoutMs).then(() => undefined);
  }

  /** @internal: CANCEL matched our INVITE (§9.2): 487 if not yet answered. */
  onCancel(req: SipRequest): void {
    if (this.finalSent) return;
    this.finalSent = true;
    this.finalResponse = this.phone.reply(this.request, this.peer, { status: 487 }, this.localTag);
    this.end({ by: "remote", reason: "cancel", status: 487, message: req });
  }

  override onAck(req: SipRequest): void {
    if (this.acked) return;
    this.acked = true;
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.applyRemoteSdp(req);
    this.inDialogRequests.push(req);
    this.changed();
  }

  override dispose(): void {
    if (this.answerTimer) clearTimeout(this.answerTimer);
    super.dispose();
  }
}

function toPairs(h: HeaderInput | undefined): Array<[string, string]> {
  if (!h) return [];
  return Array.isArray(h) ? h : Object.entries(h);
}
