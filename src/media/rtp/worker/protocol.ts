// The messages between the main thread and a media worker. Control goes as
// small objects; packets go in batches: one ArrayBuffer per batch, handed
// over (transferred, not copied) with the message, holding records of
// [leg id u32][kind u8][length u16][bytes]. A batch is flushed once per
// turn of the event loop (setImmediate), so a pacer tick that sends for 500
// endpoints, or a poll phase that received 500 packets, is one message. A
// control message first flushes the batch in progress: both travel on the
// same port, so a packet queued before a setRemote() is sent before it.
// Each side posts through an Outbox: what one step of its work says to the
// other thread (a SIP message handled, a timer) leaves as one message, in
// order, before anything else can happen.

import type { ThreadPriorityResult } from "../../../util/thread-priority.ts";
import type { SdesAgreement } from "../../srtp/index.ts";
import type { RtpRelayStats } from "../relay.ts";
import type { RtpLegCounters } from "../rtp-leg.ts";

export const RTP = 0;
export const RTCP = 1;
export type PacketKind = typeof RTP | typeof RTCP;

export interface InitMessage {
  t: "init";
  /** This worker's slice of the RTP port range (even min, odd max). */
  min: number;
  max: number;
  bind: string;
  logLevel: string;
  /** How often the worker reports its legs' and relays' counters. */
  reportEveryMs: number;
  /** The worker thread's nice value (util/thread-priority.ts); 0: the process's, left as it is. */
  nice: number;
}

export type ToWorker =
  | InitMessage
  | { t: "alloc"; leg: number }
  | { t: "remote"; leg: number; address: string; port: number; rtcpPort?: number }
  /** The leg's SRTP keys (structured-cloned: the key bytes are copied), or none. */
  | { t: "srtp"; leg: number; keys: SdesAgreement | undefined }
  /** Forward what the leg receives to the main thread (on), or drop it after counting (off). */
  | { t: "forward"; leg: number; kind: PacketKind; on: boolean }
  | { t: "close"; leg: number }
  | { t: "release"; leg: number }
  | { t: "relay"; relay: number; a: number; b: number }
  | { t: "unrelay"; relay: number }
  | { t: "packets"; buf: ArrayBuffer; length: number };

export type FromWorker =
  /** What became of the nice value asked in init (none sent when it asked 0); comes before "ready". */
  | { t: "priority"; result: ThreadPriorityResult }
  | { t: "ready" }
  | { t: "init-failed"; error: string }
  | { t: "allocated"; leg: number; address: string; rtpPort: number; rtcpPort: number }
  | { t: "alloc-failed"; leg: number; error: string; exhausted: boolean }
  | { t: "packets"; buf: ArrayBuffer; length: number }
  /** Counters of the legs and relays that changed since the last report (see LEG_STRIDE, RELAY_STRIDE). */
  | { t: "activity"; legs: Float64Array; relays: Float64Array }
  /** A log line of the worker's pino, logged again by the main thread's logger. */
  | { t: "log"; line: string };

/** The order of a leg's counters in an activity report. */
export const LEG_COUNTERS: ReadonlyArray<keyof RtpLegCounters> = [
  "packetsIn",
  "bytesIn",
  "packetsOut",
  "bytesOut",
  "rtcpIn",
  "rtcpOut",
  "foreignDropped",
  "invalidDropped",
  "unsentNoRemote",
  "connects",
  "socketErrors",
  "srtpDropped",
  "packetsLost",
];
/** [leg id, ms since its last RTP packet (-1: none yet), ...LEG_COUNTERS] */
export const LEG_STRIDE = 2 + LEG_COUNTERS.length;

export const RELAY_COUNTERS: ReadonlyArray<keyof RtpRelayStats> = [
  "aToBPackets",
  "aToBBytes",
  "bToAPackets",
  "bToABytes",
  "rtcpAToB",
  "rtcpBToA",
];
/** [relay id, ...RELAY_COUNTERS] */
export const RELAY_STRIDE = 1 + RELAY_COUNTERS.length;

export function zeroRelayStats(): RtpRelayStats {
  return { aToBPackets: 0, aToBBytes: 0, bToAPackets: 0, bToABytes: 0, rtcpAToB: 0, rtcpBToA: 0 };
}

const RECORD_HEADER = 7;
const BATCH_BYTES = 64 * 1024;

/**
 * Collects packets into one ArrayBuffer and hands it to `send` once per
 * turn of the event loop, or at once when it is full or flush() is called.
 * Every batch is a fresh ArrayBuffer: it is transferred, and dgram reads a
 * received batch's bytes after send() returns, so none is ever reused.
 */
export class PacketBatchWriter {
  private buf: Buffer | null = null;
  private pos = 0;
  private scheduled = false;
  private readonly onTurn = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly send: (buf: ArrayBuffer, length: number) => void) {}

  add(leg: number, kind: PacketKind, src: Buffer, offset: number, length: number): void {
    const need = RECORD_HEADER + length;
    if (this.buf && this.pos + need > this.buf.length) this.flush();
    if (!this.buf) {
      this.buf = Buffer.from(new ArrayBuffer(Math.max(BATCH_BYTES, need)));
      this.pos = 0;
    }
    const b = this.buf;
    const p = this.pos;
    b.writeUInt32LE(leg, p);
    b[p + 4] = kind;
    b.writeUInt16LE(length, p + 5);
    src.copy(b, p + RECORD_HEADER, offset, offset + length);
    this.pos = p + need;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTurn);
    }
  }

  flush(): void {
    const b = this.buf;
    if (!b) return;
    this.buf = null;
    this.send(b.buffer as ArrayBuffer, this.pos);
  }
}

/** Calls `each` for every packet of a batch, with a Buffer view of its bytes (no copy). */
export function readPacketBatch(
  ab: ArrayBuffer,
  length: number,
  each: (leg: number, kind: PacketKind, packet: Buffer) => void,
): void {
  const b = Buffer.from(ab, 0, length);
  let p = 0;
  while (p + RECORD_HEADER <= length) {
    const leg = b.readUInt32LE(p);
    const kind = b[p + 4] as PacketKind;
    const len = b.readUInt16LE(p + 5);
    const start = p + RECORD_HEADER;
    if (start + len > length) return;
    each(leg, kind, Buffer.from(ab, start, len));
    p = start + len;
  }
}

/** Several messages in one, in the order they were said (Outbox). */
export interface Batch<M> {
  t: "batch";
  msgs: M[];
}

/**
 * What one thread says to the other in one step of its work, posted in order
 * as one message. Each postMessage() costs a structured clone, a lock and a
 * wake-up of the other thread: answering one SIP message asks the media
 * worker for several things at once (a remote, a relay, the end of a
 * forwarding; a relay's end and two releases), and a tenth of the signalling
 * thread's busy time went to postMessage in the calls bench (100 to 400
 * calls/s), one message each.
 * The batch leaves when the step's microtasks are done: before any packet,
 * timer or message can arrive, so a relay stopped or a forwarding turned on
 * is in force at the worker for everything that follows, as if posted alone.
 */
export class Outbox<M> {
  private msgs: M[] = [];
  private transfer: ArrayBuffer[] = [];
  private scheduled = false;
  private readonly onStepDone = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly post: (msg: M | Batch<M>, transfer: ArrayBuffer[]) => void) {}

  /** Queues `msg` (and the buffers it hands over) for the end of this step. */
  push(msg: M, transfer?: readonly ArrayBuffer[]): void {
    this.msgs.push(msg);
    if (transfer) this.transfer.push(...transfer);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.onStepDone);
    }
  }

  /** Posts what is queued now: alone when it is one message, else as a Batch. */
  flush(): void {
    const msgs = this.msgs;
    if (msgs.length === 0) return;
    const transfer = this.transfer;
    this.msgs = [];
    this.transfer = [];
    this.post(msgs.length === 1 ? (msgs[0] as M) : { t: "batch", msgs }, transfer);
  }
}

/** Calls `each` for a message, or for every message of a Batch, in order. */
export function eachMessage<M extends { t: string }>(msg: M | Batch<M>, each: (m: M) => void): void {
  if (msg.t === "batch") for (const m of (msg as Batch<M>).msgs) each(m);
  else each(msg as M);
}
