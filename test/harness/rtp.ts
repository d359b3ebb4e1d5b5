// The harness phone's media: one RTP socket (and its RTCP neighbour) that
// records every packet received and sends G.711 audio, RFC 4733 events and
// in-band tones on a 20 ms real-time clock. Written independently of
// src/media/rtp so that it checks the PBX instead of sharing its mistakes;
// only the G.711 tables are shared (they are checked against ITU values).

import { createSocket, type Socket } from "node:dgram";
import { decodeG711, encodeG711, type G711Codec } from "../../src/media/codec/g711.ts";
import type { SrtpTransform } from "../../src/media/rtp/srtp-transform.ts";
import { dtmfTone, sine } from "./audio.ts";

export interface CapturedPacket {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
  from: { address: string; port: number };
  /** performance.now() at arrival. */
  at: number;
}

export interface Rfc4733Event {
  digit: string;
  /** RTP timestamp of the event (RFC 4733 §2.5.1.1: constant for the whole event). */
  ts: number;
  /** Longest duration seen, in timestamp units. */
  duration: number;
  ended: boolean;
  volume: number;
}

const SAMPLES = 160; // 20 ms at 8 kHz (RFC 3551 §4.5: default packetisation for G.711)
const EVENT_CODES = "0123456789*#ABCD";

interface Frame {
  pt: number;
  marker: boolean;
  payload: Buffer;
  /** Overrides the media timestamp (RFC 4733 events keep their start timestamp). */
  ts?: number;
}

/** One thing to send: returns the next frame, null to let the background source fill this slot, undefined when done. */
interface Job {
  next(ts: number): Frame | null | undefined;
  done: () => void;
}

export function g711Payload(codec: G711Codec): number {
  return codec === "PCMU" ? 0 : 8;
}

export class RtpStream {
  readonly packets: CapturedPacket[] = [];
  rtcpPackets = 0;
  /** Where we send; set from the remote SDP. */
  remote?: { address: string; port: number };
  codec: G711Codec = "PCMU";
  /** Our telephone-event payload type toward the peer (RFC 4733 §7.1.1: negotiated in SDP). */
  dtmfPt = 101;
  /** Payload type to read as telephone-event when receiving (the one we offered/answered). */
  receiveDtmfPt = 101;
  readonly ssrc = (Math.random() * 0x100000000) >>> 0;
  private seq = Math.floor(Math.random() * 0x8000);
  private readonly tsBase = (Math.random() * 0x100000000) >>> 0;
  private tick = 0;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private readonly jobs: Job[] = [];
  private background?: (ts: number) => Frame;
  private waiters: Array<{ count: number; resolve: () => void }> = [];
  private talkspurt = false;
  private closed = false;

  private constructor(
    private readonly rtp: Socket,
    private readonly rtcp: Socket | undefined,
    readonly address: string,
    readonly port: number,
  ) {
    rtp.on("message", (msg, rinfo) => this.onPacket(msg, rinfo.address, rinfo.port));
    rtp.on("error", () => {});
    rtcp?.on("message", () => this.rtcpPackets++);
    rtcp?.on("error", () => {});
  }

  /** Binds an even RTP port and RTCP on the next one (RFC 3550 §11), retrying a few times. */
  static async open(address = "127.0.0.1"): Promise<RtpStream> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const rtp = await bind(address, 0);
      const port = rtp.address().port;
      if (port % 2 === 0) {
        try {
          const rtcp = await bind(address, port + 1);
          return new RtpStream(rtp, rtcp, address, port);
        } catch {
          // RTCP neighbour taken: try another pair
        }
      }
      rtp.close();
    }
    const rtp = await bind(address, 0);
    return new RtpStream(rtp, undefined, address, rtp.address().port);
  }

  /**
   * SRTP of this stream (a phone whose SDP agreed keys): what is sent is
   * protected, what arrives is unprotected, and dropped (counted in
   * `srtpRejected`) when it does not authenticate.
   */
  srtp: SrtpTransform | undefined;
  srtpRejected = 0;

  private onPacket(raw: Buffer, address: string, port: number): void {
    let msg = raw;
    if (this.srtp) {
      const len = this.srtp.unprotectRtp(raw, raw.length);
      if (len === undefined) {
        this.srtpRejected++;
        return;
      }
      msg = raw.subarray(0, len);
    }
    // RFC 3550 §5.1: version 2, 12-byte fixed header, CSRCs, optional extension and padding.
    if (msg.length < 12 || msg[0] >> 6 !== 2) return;
    const cc = msg[0] & 0x0f;
    let offset = 12 + cc * 4;
    if (msg[0] & 0x10) {
      if (msg.length < offset + 4) return;
      offset += 4 + msg.readUInt16BE(offset + 2) * 4;
    }
    let end = msg.length;
    if (msg[0] & 0x20) end -= msg[msg.length - 1];
    if (offset > end) return;
    this.packets.push({
      pt: msg[1] & 0x7f,
      marker: (msg[1] & 0x80) !== 0,
      seq: msg.readUInt16BE(2),
      ts: msg.readUInt32BE(4),
      ssrc: msg.readUInt32BE(8),
      payload: Buffer.from(msg.subarray(offset, end)),
      from: { address, port },
      at: performance.now(),
    });
    this.waiters = this.waiters.filter((w) => {
      if (this.packets.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when at least `count` packets have arrived in total. */
  waitForPackets(count: number, timeoutMs = 5000): Promise<void> {
    if (this.packets.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `expected ${count} RTP packets on port ${this.port} within ${timeoutMs} ms, got ${this.packets.length}`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Audio received with payload type 0 or 8, decoded and concatenated in arrival order. */
  receivedPcm(): Int16Array {
    const audio = this.packets.filter((p) => p.pt === 0 || p.pt === 8);
    const out = new Int16Array(audio.reduce((n, p) => n + p.payload.length, 0));
    let at = 0;
    for (const p of audio) {
      decodeG711(p.pt === 0 ? "PCMU" : "PCMA", p.payload, out.subarray(at, at + p.payload.length));
      at += p.payload.length;
    }
    return out;
  }

  /** RFC 4733 §2.3 events received, one per event timestamp (retransmitted end packets merged). */
  receivedEvents(pt = this.receiveDtmfPt): Rfc4733Event[] {
    const events: Rfc4733Event[] = [];
    const byKey = new Map<string, Rfc4733Event>();
    for (const p of this.packets) {
      if (p.pt !== pt || p.payload.length < 4) continue;
      const code = p.payload[0];
      const key = `${p.ssrc}:${p.ts}:${code}`;
      const duration = p.payload.readUInt16BE(2);
      const ended = (p.payload[1] & 0x80) !== 0;
      let ev = byKey.get(key);
      if (!ev) {
        ev = {
          digit: EVENT_CODES[code] ?? `?${code}`,
          ts: p.ts,
          duration,
          ended,
          volume: p.payload[1] & 0x3f,
        };
        byKey.set(key, ev);
        events.push(ev);
      }
      ev.duration = Math.max(ev.duration, duration);
      ev.ended ||= ended;
    }
    return events;
  }

  /** The RFC 4733 digits received, in order. */
  receivedDigits(pt = this.receiveDtmfPt): string {
    return this.receivedEvents(pt)
      .map((e) => e.digit)
      .join("");
  }

  /** Sends `pcm` in 20 ms packets; resolves when the last packet has left. */
  playAudio(pcm: Int16Array): Promise<void> {
    let at = 0;
    let first = true;
    return this.enqueue(() => {
      if (at >= pcm.length) return undefined;
      const frame = this.audioFrame(pcm.subarray(at, at + SAMPLES), first);
      at += SAMPLES;
      first = false;
      return frame;
    });
  }

  /** Sends a continuous tone (0 Hz: silence) whenever nothing else is queued, until stopSending(). */
  startSendingTone(freq: number, amplitude = 8000): void {
    const period = sine(freq, 1000, freq === 0 ? 0 : amplitude); // 1 s holds a whole number of cycles of any integer frequency
    let at = 0;
    this.background = () => {
      const chunk = period.subarray(at, at + SAMPLES);
      at = (at + SAMPLES) % period.length;
      return this.audioFrame(chunk, !this.talkspurt);
    };
    this.ensureTicking();
  }

  /** Stops the background tone and drops anything queued (pending promises resolve). */
  stopSending(): void {
    this.background = undefined;
    this.talkspurt = false;
    for (const job of this.jobs.splice(0)) job.done();
  }

  /**
   * RFC 4733 §2.5: each digit is one event with a fixed timestamp, sent every
   * 20 ms with a growing duration, the first packet with the marker bit, and
   * the end packet sent three times (§2.5.1.4) so one loss doesn't lose it.
   */
  sendRfc4733(
    digits: string,
    opts: { payloadType?: number; durationMs?: number; gapMs?: number; volume?: number } = {},
  ): Promise<void> {
    const pt = opts.payloadType ?? this.dtmfPt;
    const steps = Math.max(1, Math.round((opts.durationMs ?? 100) / 20));
    const gap = Math.max(0, Math.round((opts.gapMs ?? 60) / 20));
    const volume = opts.volume ?? 10;
    const codes = [...digits.toUpperCase()].map((d) => {
      const code = EVENT_CODES.indexOf(d);
      if (code < 0) throw new Error(`not a DTMF digit: ${JSON.stringify(d)}`);
      return code;
    });
    let digit = 0;
    let step = 0;
    let eventTs = 0;
    return this.enqueue((ts) => {
      if (digit >= codes.length) return undefined;
      const code = codes[digit];
      const k = step++;
      if (step >= steps + 3 + gap) {
        digit++;
        step = 0;
      }
      if (k === 0) eventTs = ts;
      if (k >= steps + 3) return null; // inter-digit gap: background audio may flow
      const end = k >= steps;
      const payload = Buffer.alloc(4);
      payload[0] = code;
      payload[1] = (end ? 0x80 : 0) | (volume & 0x3f);
      payload.writeUInt16BE(Math.min(0xffff, Math.min(k + 1, steps) * SAMPLES), 2);
      return { pt, marker: k === 0, payload, ts: eventTs };
    });
  }

  /** In-band DTMF (Q.23 tone pairs) encoded with the call's codec. */
  sendInband(digits: string, opts: { durationMs?: number; gapMs?: number } = {}): Promise<void> {
    const parts: Int16Array[] = [];
    for (const d of digits) {
      parts.push(dtmfTone(d, opts.durationMs ?? 100));
      parts.push(new Int16Array(Math.round((8 * (opts.gapMs ?? 80)) / 20) * 20));
    }
    const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      pcm.set(p, at);
      at += p.length;
    }
    return this.playAudio(pcm);
  }

  /** Sends one raw RTP packet now, outside the 20 ms clock (for malformed-input tests). */
  sendRaw(packet: Buffer, to = this.remote): void {
    if (to) this.rtp.send(packet, to.port, to.address);
  }

  private audioFrame(pcm: Int16Array, marker: boolean): Frame {
    const payload = Buffer.alloc(SAMPLES, this.codec === "PCMU" ? 0xff : 0xd5);
    encodeG711(this.codec, pcm, payload);
    this.talkspurt = true;
    return { pt: g711Payload(this.codec), marker, payload };
  }

  private enqueue(next: Job["next"]): Promise<void> {
    if (this.closed) return Promise.reject(new Error("RTP stream closed"));
    return new Promise((resolve) => {
      this.jobs.push({ next, done: resolve });
      this.ensureTicking();
    });
  }

  private ensureTicking(): void {
    if (this.timer || this.closed) return;
    this.startedAt = performance.now() - this.tick * 20;
    this.schedule();
  }

  private schedule(): void {
    // Pace against the start instant rather than chaining 20 ms timeouts, so
    // timer lateness doesn't accumulate into a slow media clock.
    const due = this.startedAt + this.tick * 20;
    this.timer = setTimeout(() => this.onTick(), Math.max(0, due - performance.now()));
  }

  private onTick(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = performance.now();
    // After a long stall, skip ahead rather than bursting dozens of packets.
    if (now - (this.startedAt + this.tick * 20) > 200) this.startedAt = now - this.tick * 20;
    while (this.startedAt + this.tick * 20 <= now + 1) {
      this.sendSlot();
      this.tick++;
    }
    if (this.jobs.length > 0 || this.background) this.schedule();
  }

  private sendSlot(): void {
    const ts = (this.tsBase + this.tick * SAMPLES) >>> 0;
    let frame: Frame | null | undefined = null;
    while (this.jobs.length > 0) {
      frame = this.jobs[0].next(ts);
      if (frame !== undefined) break;
      this.jobs.shift()?.done();
      frame = null;
    }
    if (frame === null && this.background) frame = this.background(ts);
    else if (frame === null) this.talkspurt = false;
    if (!frame || !this.remote) return;
    const packet = Buffer.alloc(12 + frame.payload.length);
    packet[0] = 0x80;
    packet[1] = (frame.marker ? 0x80 : 0) | (frame.pt & 0x7f);
    packet.writeUInt16BE(this.seq, 2);
    packet.writeUInt32BE(frame.ts ?? ts, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    frame.payload.copy(packet, 12);
    this.seq = (this.seq + 1) & 0xffff;
    const wire = this.srtp ? this.srtp.protectRtp(packet, 0, packet.length) : packet;
    if (wire) this.rtp.send(wire, this.remote.port, this.remote.address);
  }

  close(): void {
    if (this.closed) return;
    this.stopSending();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    this.rtp.close();
    this.rtcp?.close();
  }
}

function bind(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket(address.includes(":") ? "udp6" : "udp4");
    s.once("error", (e) => {
      s.close();
      reject(e);
    });
    s.bind(port, address, () => {
      s.removeAllListeners("error");
      resolve(s);
    });
  });
}
