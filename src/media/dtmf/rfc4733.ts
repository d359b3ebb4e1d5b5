// RFC 4733 telephone-event payload: DTMF digits carried as named events in
// RTP rather than as tones, so that they survive compressing codecs and are
// read without signal processing.

/** Event codes 0–15 (RFC 4733 §3.2, Table 3): the index of the digit in this string. */
export const DTMF_EVENTS = "0123456789*#ABCD";

export interface TelephoneEvent {
  /** Event code (0–255); 0–15 are the DTMF digits. */
  event: number;
  /** E bit: this packet reports the end of the event. */
  end: boolean;
  /** Power level in -dBm0, 0–63 (§2.3.4). */
  volume: number;
  /** Duration so far, in timestamp units (§2.3.5), 0–65535. */
  duration: number;
}

export function eventToDigit(event: number): string | undefined {
  return Number.isInteger(event) && event >= 0 && event < DTMF_EVENTS.length ? DTMF_EVENTS[event] : undefined;
}

export function digitToEvent(digit: string): number | undefined {
  if (digit.length !== 1) return undefined;
  const i = DTMF_EVENTS.indexOf(digit.toUpperCase());
  return i < 0 ? undefined : i;
}

/**
 * Reads the 4-byte event block of §2.3:
 * event (8) | E (1) | R (1) | volume (6) | duration (16).
 * Returns null when fewer than 4 bytes are available.
 */
export function parseTelephoneEvent(
  payload: Uint8Array,
  offset = 0,
  length = payload.length - offset,
): TelephoneEvent | null {
  if (offset < 0 || length < 4 || offset + 4 > payload.length) return null;
  const flags = payload[offset + 1];
  return {
    event: payload[offset],
    end: (flags & 0x80) !== 0,
    volume: flags & 0x3f,
    duration: (payload[offset + 2] << 8) | payload[offset + 3],
  };
}

/** Writes the 4-byte event block of §2.3 at `offset`; the R bit is sent as zero (§2.3.3). */
export function writeTelephoneEvent(out: Uint8Array, offset: number, ev: TelephoneEvent): void {
  if (offset < 0 || offset + 4 > out.length) throw new RangeError("telephone-event does not fit");
  const duration = Math.max(0, Math.min(0xffff, Math.round(ev.duration)));
  out[offset] = ev.event & 0xff;
  out[offset + 1] = (ev.end ? 0x80 : 0) | (Math.max(0, Math.min(63, Math.round(ev.volume))) & 0x3f);
  out[offset + 2] = duration >> 8;
  out[offset + 3] = duration & 0xff;
}

/** How far back (timestamp units, 8 kHz) a packet is still taken for a late copy of a past event. */
const STALE_WINDOW = 8000 * 30;
/**
 * RFC 3550 §A.1: a sequence number this far behind the last one is not a
 * late packet but a restarted stream (a sender replaying captured events).
 */
const MAX_MISORDER = 100;
/** A segment this close to the 16-bit duration limit may be continued by a new segment (§2.5.1.3). */
const SEGMENT_FULL = 0xffff - 8000;

/**
 * Turns a stream of telephone-event payloads into digits, each exactly once.
 *
 * RFC 4733 §2.5.1.3: every packet of one event carries the event's start
 * timestamp, so the timestamp identifies the event. The digit is reported on
 * the first packet seen of that timestamp, whether it is the start packet,
 * an update or an end packet (the start may have been lost). Updates and the
 * three end retransmissions (§2.5.1.4) carry the same timestamp and are
 * ignored. Timestamps are compared in 32-bit serial arithmetic so that the
 * wrap-around at 2^32 is a step forward, and a late copy of an older event
 * (reordering) is not taken for a new one. A packet is late only when its
 * sequence number is behind too, and not by more than RFC 3550's misorder
 * limit: an event whose timestamp goes back while the stream restarted is a
 * new key press.
 */
export class TelephoneEventReceiver {
  private hasLast = false;
  private lastTimestamp = 0;
  private lastEvent = -1;
  private lastEnded = false;
  private lastDuration = 0;
  private lastSequence: number | undefined;

  /** Returns the digit when this packet starts a new DTMF event, null otherwise. */
  push(
    timestamp: number,
    payload: Uint8Array,
    offset = 0,
    length = payload.length - offset,
    sequence?: number,
  ): string | null {
    const previousSequence = this.lastSequence;
    if (sequence !== undefined) this.lastSequence = sequence & 0xffff;
    const ev = parseTelephoneEvent(payload, offset, length);
    if (!ev) return null;
    const ts = timestamp >>> 0;
    if (this.hasLast) {
      const delta = (ts - this.lastTimestamp) | 0;
      if (delta === 0) {
        // Same event: remember how it progresses; a different code under the
        // same timestamp is a broken sender and is not a second digit.
        if (ev.event === this.lastEvent) {
          if (ev.end) this.lastEnded = true;
          if (ev.duration > this.lastDuration) this.lastDuration = ev.duration;
        }
        return null;
      }
      if (delta < 0 && delta > -STALE_WINDOW && isLate(sequence, previousSequence)) return null;
      // §2.5.1.3: an event longer than the duration field can express goes
      // on in a new segment whose timestamp is where the previous one ended.
      if (
        delta > 0 &&
        ev.event === this.lastEvent &&
        !this.lastEnded &&
        this.lastDuration >= SEGMENT_FULL &&
        delta <= this.lastDuration + 1600
      ) {
        this.remember(ts, ev);
        return null;
      }
    }
    this.remember(ts, ev);
    const digit = eventToDigit(ev.event);
    return digit ?? null;
  }

  /** Forgets the last event, e.g. when the remote SSRC changes. */
  reset(): void {
    this.hasLast = false;
    this.lastSequence = undefined;
    this.lastEvent = -1;
    this.lastEnded = false;
    this.lastDuration = 0;
  }

  private remember(ts: number, ev: TelephoneEvent): void {
    this.hasLast = true;
    this.lastTimestamp = ts;
    this.lastEvent = ev.event;
    this.lastEnded = ev.end;
    this.lastDuration = ev.duration;
  }
}

/** Behind the last packet by at most MAX_MISORDER (or no sequence numbers to tell). */
function isLate(sequence: number | undefined, previous: number | undefined): boolean {
  if (sequence === undefined || previous === undefined) return true;
  const behind = (previous - (sequence & 0xffff)) & 0xffff;
  return behind > 0 && behind <= MAX_MISORDER;
}

export interface TelephoneEventPacket {
  /** The 4-byte telephone-event payload. */
  payload: Uint8Array;
  /** RTP marker bit: set on the first packet of the event (§2.5.1.1). */
  marker: boolean;
  end: boolean;
}

/**
 * Produces the packets of one DTMF event (RFC 4733 §2.5.1): a first packet
 * with the marker bit, updates every packetisation interval with the
 * duration growing, and the end packet sent three times (§2.5.1.4) so that
 * a single loss does not leave the far end holding the key down. The caller
 * sends them one interval apart with the same RTP timestamp, the time the
 * event began.
 */
export class TelephoneEventSender {
  private readonly samplesPerPacket: number;
  private readonly samplesPerMs: number;

  constructor(
    readonly sampleRate = 8000,
    readonly packetMs = 20,
  ) {
    this.samplesPerMs = sampleRate / 1000;
    this.samplesPerPacket = Math.round(this.samplesPerMs * packetMs);
  }

  packets(digit: string, durationMs = 100, volume = 10): TelephoneEventPacket[] {
    const event = digitToEvent(digit);
    if (event === undefined) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
    const total = Math.min(
      0xffff,
      Math.max(this.samplesPerPacket, Math.round(durationMs * this.samplesPerMs)),
    );
    const out: TelephoneEventPacket[] = [];
    for (let d = this.samplesPerPacket; d < total; d += this.samplesPerPacket) {
      out.push(this.packet(event, false, volume, d, out.length === 0));
    }
    for (let i = 0; i < 3; i++) out.push(this.packet(event, true, volume, total, out.length === 0));
    return out;
  }

  private packet(event: number, end: boolean, volume: number, duration: number, marker: boolean) {
    const payload = new Uint8Array(4);
    writeTelephoneEvent(payload, 0, { event, end, volume, duration });
    return { payload, marker, end };
  }
}
