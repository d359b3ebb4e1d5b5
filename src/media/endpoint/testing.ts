// Helpers for endpoint tests: a phone on loopback that sends RTP (G.711
// audio, RFC 4733 events) and decodes what it receives. Not used by
// production code.

import type { Clock } from "../../util/clock.ts";
import { decodeG711, encodeG711, type G711Codec } from "../codec/g711.ts";
import { TelephoneEventSender } from "../dtmf/rfc4733.ts";
import { parseRtp, type RtpHeader, writeRtpHeader } from "../rtp/packet.ts";
import { RtpLeg } from "../rtp/rtp-leg.ts";
import { closePair, loopbackPair, type Probe, probe, waitFor } from "../rtp/testing.ts";

export interface Phone {
  probe: Probe;
  /** Sends `pcm` as 20 ms packets (last one padded with zeros), returns the timestamp after it. */
  sendAudio(pcm: Int16Array): Promise<number>;
  /** Sends one RFC 4733 event (all its packets) at the current timestamp. */
  sendEvent(digit: string, durationMs?: number): Promise<void>;
  /** Sends a raw packet with the given sequence number (for reordering tests). */
  sendRaw(buf: Buffer): Promise<void>;
  seq: number;
  ts: number;
  received(): Array<{ h: RtpHeader; payload: Buffer }>;
  close(): void;
}

export async function phoneTo(port: number, codec: G711Codec, pt: number, eventPt = 101): Promise<Phone> {
  const p = await probe();
  const sender = new TelephoneEventSender();
  const phone: Phone = {
    probe: p,
    seq: 1000,
    ts: 50000,
    async sendAudio(pcm) {
      for (let off = 0; off < pcm.length; off += 160) {
        const frame = new Int16Array(160);
        frame.set(pcm.subarray(off, Math.min(pcm.length, off + 160)));
        const buf = Buffer.alloc(172);
        writeRtpHeader(buf, off === 0, pt, phone.seq, phone.ts, 0xc0ffee);
        encodeG711(codec, frame, buf, 12);
        phone.seq = (phone.seq + 1) & 0xffff;
        phone.ts = (phone.ts + 160) >>> 0;
        await p.send(buf, port);
      }
      return phone.ts;
    },
    async sendEvent(digit, durationMs = 100) {
      const start = phone.ts;
      const packets = sender.packets(digit, durationMs);
      for (const pk of packets) {
        const buf = Buffer.alloc(16);
        writeRtpHeader(buf, pk.marker, eventPt, phone.seq, start, 0xc0ffee);
        buf.set(pk.payload, 12);
        phone.seq = (phone.seq + 1) & 0xffff;
        await p.send(buf, port);
      }
      phone.ts = (phone.ts + Math.round(durationMs * 8)) >>> 0;
    },
    sendRaw: (buf) => p.send(buf, port),
    received: () =>
      p.received.map((r) => {
        const h = parseRtp(r.data);
        if (!h) throw new Error("phone received a non-RTP packet");
        return { h, payload: r.data.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength) };
      }),
    close: () => p.close(),
  };
  return phone;
}

/** A leg on loopback whose remote is a fresh phone. */
export async function legWithPhone(clock: Clock, codec: G711Codec = "PCMU", pt = 0, eventPt = 101) {
  const pair = await loopbackPair();
  const leg = new RtpLeg(pair, { clock });
  const phone = await phoneTo(pair.rtpPort, codec, pt, eventPt);
  leg.setRemote("127.0.0.1", phone.probe.port);
  let cleaned = false;
  return {
    pair,
    leg,
    phone,
    /** Idempotent: tests call it from t.after so a failing assertion never leaves sockets open. */
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      leg.close();
      closePair(pair);
      phone.close();
    },
  };
}

export function decodeAll(codec: G711Codec, payloads: Buffer[]): Int16Array {
  const total = payloads.reduce((n, p) => n + p.length, 0);
  const out = new Int16Array(total);
  let o = 0;
  for (const p of payloads) {
    const part = new Int16Array(p.length);
    decodeG711(codec, p, part);
    out.set(part, o);
    o += p.length;
  }
  return out;
}

/** What `pcm` becomes after a G.711 round trip. */
export function roundTrip(codec: G711Codec, pcm: Int16Array): Int16Array {
  const bytes = new Uint8Array(pcm.length);
  encodeG711(codec, pcm, bytes);
  const out = new Int16Array(pcm.length);
  decodeG711(codec, bytes, out);
  return out;
}

/** A voiced, speech-like signal: 120 Hz fundamental with decaying harmonics and a slow envelope. */
export function speechLike(ms: number): Int16Array {
  const n = Math.round(ms * 8);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 8000;
    let s = 0;
    for (let k = 1; k <= 12; k++) s += Math.sin(2 * Math.PI * 120 * k * t + k) / k;
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t);
    out[i] = Math.round(s * env * 5000);
  }
  return out;
}

export function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += samples[i] * samples[i];
  return Math.sqrt(e / Math.max(1, to - from));
}

export { waitFor };
