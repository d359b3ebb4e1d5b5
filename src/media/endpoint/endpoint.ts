// The PBX terminating a call leg itself: prompts out, digits and messages in.
//
// Sending (RFC 3550 §5.1, RFC 3551 §4.1): in this endpoint's phase of the
// shared pacer, one 20 ms G.711 packet while something plays. When nothing
// plays nothing is sent (silence suppression; `sendSilenceWhenIdle` sends
// comfort silence instead for far ends that hang up on missing RTP). The RTP
// timestamp is derived from the ideal instant of that phase, so it advances with time during
// pauses; the sequence number advances per packet sent; the marker bit opens
// every talkspurt.
//
// Receiving: RFC 4733 events, in-band DTMF (only until the first RFC 4733
// event, so a phone sending both is not heard twice) and SIP INFO digits
// (pushed by the SIP layer) feed one ordered digit stream; audio goes
// through a small reorder window before decoding for record() and the in-band
// detector.
import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";
import { decodeG711, type G711Codec, silenceByte } from "../codec/g711.ts";
import { InbandDtmfDetector } from "../dtmf/goertzel.ts";
import { digitToEvent, TelephoneEventReceiver, TelephoneEventSender } from "../dtmf/rfc4733.ts";
import { dtmfTone } from "../dtmf/tone.ts";
import type { MediaLeg } from "../rtp/media-leg.ts";
import { createRtpHeader, RTP_HEADER_SIZE, readRtpHeader, writeRtpHeader } from "../rtp/packet.ts";
import { SendRing, type SendSlot } from "../rtp/send-ring.ts";
import { MediaClosedError } from "./errors.ts";
import type { MediaPacer } from "./pacer.ts";
import { FRAME_SAMPLES, type PlayItem, PlaySource, prepareItems } from "./play-source.ts";
import { Recording, writeRecording } from "./recorder.ts";
import { ReorderWindow } from "./reorder-window.ts";

export type { PlayItem } from "./play-source.ts";

export interface MediaEndpointOptions {
  leg: MediaLeg;
  pacer: MediaPacer;
  clock: Clock;
  codec: G711Codec;
  payloadType: number;
  /** Negotiated telephone-event payload type (RFC 4733 §7.1.1); none: in-band only. */
  telephoneEventPt?: number;
  /** Send G.711 silence while nothing plays, instead of nothing. Default false. */
  sendSilenceWhenIdle?: boolean;
  log?: Logger;
}

export type PlayResult = "done" | "interrupted";
export type DigitSource = "rfc4733" | "inband" | "info";

export interface CollectOptions {
  max: number;
  /** Digits that end the input early (not included in the result), e.g. "#". */
  terminators?: string;
  firstTimeoutMs: number;
  interTimeoutMs: number;
}

export interface CollectResult {
  digits: string;
  reason: "max" | "terminator" | "timeout";
}

export interface RecordOptions {
  path: string;
  maxMs: number;
  /** Stop after this much silence (energy below SILENCE_RMS); trailing silence is cut. */
  silenceMs?: number;
  /** Digits that end the recording; default "#". */
  terminators?: string;
  /** A short 1 kHz beep before recording starts (the beep is not recorded). */
  beep?: boolean;
}

export interface RecordResult {
  path: string;
  durationMs: number;
  reason: "terminator" | "max" | "silence" | "hangup";
  /** The terminator digit pressed, when reason is "terminator". */
  terminator?: string;
}

export interface MediaEndpointStats {
  packetsSent: number;
  bytesSent: number;
  audioPacketsReceived: number;
  eventPacketsReceived: number;
  digitsReceived: number;
  duplicates: number;
  late: number;
  lost: number;
}

interface PlayJob {
  source: PlaySource;
  bargeIn: boolean;
  resolve: (r: PlayResult) => void;
  reject: (e: Error) => void;
}

interface DtmfStep {
  payload: Uint8Array | null; // null: inter-digit gap tick
  marker: boolean;
  first: boolean;
}

interface DtmfJob {
  steps: DtmfStep[];
  index: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Collector {
  opts: CollectOptions;
  terminators: string;
  digits: string;
  timer: Timer | null;
  resolve: (r: CollectResult) => void;
  reject: (e: Error) => void;
}

interface ActiveRecording {
  rec: Recording;
  path: string;
  terminators: string;
  timer: Timer | null;
  resolve: (r: RecordResult) => void;
  reject: (e: Error) => void;
}

const DTMF_CHARS = "0123456789*#ABCD";
/** Type-ahead kept at most; older digits are dropped first. */
const MAX_QUEUED_DIGITS = 64;
/** Trimmed from a recording ended by a key: the key's click and tone (≈200 ms). */
const TERMINATOR_TRIM_SAMPLES = 1600;
/** Gap between two sent digits (RFC 4733 events need distinct, separated timestamps). */
const INTER_DIGIT_TICKS = 3;
const BEEP: PlayItem[] = [{ kind: "tone", freqs: [1000], ms: 250 }];

export class MediaEndpoint {
  /** Observer of every digit received, whatever its source and whoever consumes it. */
  onDigit: ((digit: string) => void) | undefined;

  private readonly leg: MediaLeg;
  private readonly pacer: MediaPacer;
  private readonly clock: Clock;
  private readonly codec: G711Codec;
  private readonly payloadType: number;
  private readonly telephoneEventPt: number | undefined;
  private readonly idleSilence: boolean;
  private readonly silence: number;
  private readonly log?: Logger;

  private readonly ssrc: number;
  private seq: number;
  private readonly tsBase: number;
  /** Clock instant the timestamp base corresponds to. */
  private readonly t0: number;
  /** Outgoing packets: a slot per packet the socket may still read, since dgram sends without copying. */
  private readonly ring = new SendRing(RTP_HEADER_SIZE + FRAME_SAMPLES);
  private talkspurtStart = true;
  private dtmfTs = 0;
  private detachPacer: (() => void) | null = null;
  private readonly tickFn = () => this.onTick();

  private readonly plays: PlayJob[] = [];
  private readonly dtmfJobs: DtmfJob[] = [];
  private readonly sender = new TelephoneEventSender();

  private readonly header = createRtpHeader();
  private readonly window = new ReorderWindow(4);
  private readonly decoded = new Int16Array(1500);
  private readonly receiver = new TelephoneEventReceiver();
  private readonly detector = new InbandDtmfDetector(8000);
  private rfc4733Seen = false;
  private remoteSsrc = -1;
  /** RTP timestamp just after the last audio frame delivered in order. */
  private audioEndTs = -1;

  private readonly queue: string[] = [];
  private collector: Collector | null = null;
  private recording: ActiveRecording | null = null;
  private closed = false;
  private readonly rtpFn = (buf: Buffer, len: number) => this.onRtp(buf, len);

  private readonly counters: MediaEndpointStats = {
    packetsSent: 0,
    bytesSent: 0,
    audioPacketsReceived: 0,
    eventPacketsReceived: 0,
    digitsReceived: 0,
    duplicates: 0,
    late: 0,
    lost: 0,
  };

  constructor(opts: MediaEndpointOptions) {
    this.leg = opts.leg;
    this.pacer = opts.pacer;
    this.clock = opts.clock;
    this.codec = opts.codec;
    this.payloadType = opts.payloadType;
    this.telephoneEventPt = opts.telephoneEventPt;
    this.idleSilence = opts.sendSilenceWhenIdle ?? false;
    this.silence = silenceByte(opts.codec);
    this.log = opts.log;
    // RFC 3550 §5.1: random initial sequence number and timestamp, random SSRC (§8).
    const rnd = randomBytes(10);
    this.ssrc = rnd.readUInt32BE(0);
    this.tsBase = rnd.readUInt32BE(4);
    this.seq = rnd.readUInt16BE(8);
    this.t0 = this.clock.now();
    this.window.onFrame = (bytes, offset, length, ts) => this.onAudio(bytes, offset, length, ts);
    this.window.onLoss = (n) => this.onAudioLoss(n);
    this.leg.onPacket = this.rtpFn;
    if (this.idleSilence) this.attach();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while a play job is queued or running. */
  get playing(): boolean {
    return this.plays.length > 0;
  }

  /** Digits received and not yet consumed (type-ahead). */
  get queuedDigits(): string {
    return this.queue.join("");
  }

  stats(): MediaEndpointStats {
    return {
      ...this.counters,
      duplicates: this.window.duplicates,
      late: this.window.late,
      lost: this.window.lost,
    };
  }

  /**
   * Plays the items in order. A play started while another runs is queued
   * behind it. With bargeIn, a digit received during the play (or already
   * waiting in the type-ahead queue when it starts) ends it with
   * "interrupted"; the digit stays queued for the next collect().
   */
  play(items: PlayItem[], opts: { bargeIn?: boolean } = {}): Promise<PlayResult> {
    if (this.closed) return Promise.reject(new MediaClosedError());
    let source: PlaySource;
    try {
      source = new PlaySource(prepareItems(items, this.codec), this.codec);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<PlayResult>((resolve, reject) => {
      this.plays.push({ source, bargeIn: opts.bargeIn === true, resolve, reject });
      this.attach();
    });
  }

  /** Stops the current play (resolves it "interrupted") and drops the queued ones likewise. */
  stopPlayback(): void {
    for (const job of this.plays.splice(0)) job.resolve("interrupted");
    this.maybeDetach();
  }

  /**
   * A digit from outside RTP (SIP INFO, RFC 2976 with application/dtmf-relay
   * or application/dtmf, parsed by the SIP layer). Anything but 0-9 * # A-D
   * is ignored; returns whether the digit was taken.
   */
  pushDigit(digit: string, _source: "info"): boolean {
    if (this.closed || typeof digit !== "string" || digit.length !== 1) return false;
    const d = digit.toUpperCase();
    if (!DTMF_CHARS.includes(d)) return false;
    this.receiveDigit(d);
    return true;
  }

  /** Reads digits: the type-ahead queue first, then what arrives, with first/inter-digit timeouts. */
  collect(opts: CollectOptions): Promise<CollectResult> {
    if (this.closed) return Promise.reject(new MediaClosedError());
    if (this.collector) return Promise.reject(new Error("collect already in progress"));
    if (!Number.isInteger(opts?.max) || opts.max < 1)
      return Promise.reject(new RangeError("collect: max must be ≥ 1"));
    if (!(opts.firstTimeoutMs >= 0) || !(opts.interTimeoutMs >= 0)) {
      return Promise.reject(new RangeError("collect: timeouts must be non-negative"));
    }
    return new Promise<CollectResult>((resolve, reject) => {
      const c: Collector = {
        opts,
        terminators: (opts.terminators ?? "").toUpperCase(),
        digits: "",
        timer: null,
        resolve,
        reject,
      };
      this.collector = c;
      while (this.queue.length > 0 && this.collector === c) this.feedCollector(c, this.queue.shift()!);
      if (this.collector === c) this.armCollector(c, c.opts.firstTimeoutMs);
    });
  }

  /**
   * Records what the far end says into a WAV file (8 kHz 16-bit mono). Ends
   * on a terminator digit (the last 200 ms, the key press, are cut), on
   * maxMs, on silenceMs of silence (trailing silence cut) or on close()
   * ("hangup": what was said is kept). The file appears under `path` only
   * when complete.
   */
  async record(opts: RecordOptions): Promise<RecordResult> {
    if (this.closed) throw new MediaClosedError();
    if (this.recording) throw new Error("record already in progress");
    if (typeof opts?.path !== "string" || opts.path === "") throw new TypeError("record: path required");
    if (!(opts.maxMs > 0) || !Number.isFinite(opts.maxMs))
      throw new RangeError("record: maxMs must be positive");
    if (opts.beep) await this.play(BEEP);
    if (this.closed) throw new MediaClosedError();
    if (this.recording) throw new Error("record already in progress");
    return new Promise<RecordResult>((resolve, reject) => {
      const active: ActiveRecording = {
        rec: new Recording(opts.maxMs, opts.silenceMs),
        path: opts.path,
        terminators: (opts.terminators ?? "#").toUpperCase(),
        timer: null,
        resolve,
        reject,
      };
      this.recording = active;
      // Frames held from before the recording started are not part of it.
      this.window.reset();
      this.audioEndTs = -1;
      // Backstop when the far end sends nothing at all (hold, VAD): stop on time.
      active.timer = this.clock.setTimer(opts.maxMs, () => this.stopRecording(active, "max"));
    });
  }

  /**
   * Sends digits as RFC 4733 events (one packet per tick, all packets of an
   * event with the event's start timestamp, §2.5.1.3), or as in-band tones
   * when no telephone-event payload type was negotiated. Audio playback
   * pauses while an event is sent.
   */
  sendDigits(digits: string, durationMs = 100): Promise<void> {
    if (this.closed) return Promise.reject(new MediaClosedError());
    const list = [...String(digits).toUpperCase()];
    if (list.some((d) => digitToEvent(d) === undefined)) {
      return Promise.reject(new RangeError(`sendDigits: not DTMF digits: ${JSON.stringify(digits)}`));
    }
    if (this.telephoneEventPt === undefined) {
      const items: PlayItem[] = [];
      for (const d of list) {
        items.push({ kind: "pcm", samples: dtmfTone(d, durationMs) }, { kind: "silence", ms: 60 });
      }
      return this.play(items).then(() => {});
    }
    const steps: DtmfStep[] = [];
    for (const d of list) {
      const packets = this.sender.packets(d, durationMs);
      for (let i = 0; i < packets.length; i++) {
        steps.push({ payload: packets[i].payload, marker: packets[i].marker, first: i === 0 });
      }
      for (let i = 0; i < INTER_DIGIT_TICKS; i++) steps.push({ payload: null, marker: false, first: false });
    }
    return new Promise<void>((resolve, reject) => {
      this.dtmfJobs.push({ steps, index: 0, resolve, reject });
      this.attach();
    });
  }

  /**
   * Ends the endpoint: pending play, collect and sendDigits reject with
   * MediaClosedError; a recording in progress is kept and resolves
   * "hangup". Detaches from the pacer and the leg, which stays open (it may
   * go on into an RtpRelay).
   */
  close(reason = "closed"): void {
    if (this.closed) return;
    this.closed = true;
    const err = new MediaClosedError(reason);
    if (this.detachPacer) {
      this.detachPacer();
      this.detachPacer = null;
    }
    if (this.leg.onPacket === this.rtpFn) this.leg.onPacket = null;
    for (const job of this.plays.splice(0)) job.reject(err);
    for (const job of this.dtmfJobs.splice(0)) job.reject(err);
    const c = this.collector;
    if (c) {
      this.collector = null;
      c.timer?.cancel();
      c.reject(err);
    }
    if (this.recording) this.stopRecording(this.recording, "hangup");
    this.queue.length = 0;
  }

  // ---- sending ----------------------------------------------------------

  private attach(): void {
    if (!this.detachPacer && !this.closed) {
      this.detachPacer = this.pacer.add(this.tickFn);
      this.talkspurtStart = true;
    }
  }

  private maybeDetach(): void {
    if (this.detachPacer && !this.idleSilence && this.plays.length === 0 && this.dtmfJobs.length === 0) {
      this.detachPacer();
      this.detachPacer = null;
    }
  }

  /**
   * RTP timestamp of the current tick: 8 kHz units since t0, from the ideal
   * (drift-free) instant of this endpoint's own pacer phase, which is one
   * period after its previous one, so the timestamp steps by exactly 160.
   */
  private timestampNow(): number {
    const ideal = this.pacer.idealNow;
    return (this.tsBase + Math.round((ideal - this.t0) * 8)) >>> 0;
  }

  private onTick(): void {
    const ts = this.timestampNow();
    if (this.dtmfJobs.length > 0) {
      this.sendDtmfStep(ts);
      return;
    }
    let slot: SendSlot | null = null;
    while (this.plays.length > 0) {
      const job = this.plays[0];
      if (job.bargeIn && this.queue.length > 0) {
        this.plays.shift();
        job.resolve("interrupted");
        continue;
      }
      slot ??= this.ring.take(this.leg.sendIdle);
      if (job.source.next(slot.buf, RTP_HEADER_SIZE)) {
        this.sendAudio(slot, ts);
        return;
      }
      this.plays.shift();
      job.resolve("done");
    }
    if (this.idleSilence) {
      slot ??= this.ring.take(this.leg.sendIdle);
      slot.buf.fill(this.silence, RTP_HEADER_SIZE, RTP_HEADER_SIZE + FRAME_SAMPLES);
      this.sendAudio(slot, ts);
      return;
    }
    if (slot) slot.busy = false;
    this.talkspurtStart = true;
    this.maybeDetach();
  }

  private sendAudio(slot: SendSlot, ts: number): void {
    const len = RTP_HEADER_SIZE + FRAME_SAMPLES;
    writeRtpHeader(slot.buf, this.talkspurtStart, this.payloadType, this.seq, ts, this.ssrc);
    this.talkspurtStart = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.transmit(slot, len);
  }

  private transmit(slot: SendSlot, len: number): void {
    if (this.leg.send(slot.buf, 0, len)) {
      this.counters.packetsSent++;
      this.counters.bytesSent += len;
    } else {
      slot.busy = false;
    }
  }

  private sendDtmfStep(ts: number): void {
    const job = this.dtmfJobs[0];
    const step = job.steps[job.index++];
    if (step.payload) {
      if (step.first) this.dtmfTs = ts;
      const slot = this.ring.take(this.leg.sendIdle);
      writeRtpHeader(slot.buf, step.marker, this.telephoneEventPt!, this.seq, this.dtmfTs, this.ssrc);
      slot.buf.set(step.payload, RTP_HEADER_SIZE);
      this.seq = (this.seq + 1) & 0xffff;
      this.transmit(slot, RTP_HEADER_SIZE + step.payload.length);
    }
    // Audio after an event opens a new talkspurt.
    this.talkspurtStart = true;
    if (job.index >= job.steps.length) {
      this.dtmfJobs.shift();
      job.resolve();
      if (this.plays.length === 0) this.maybeDetach();
    }
  }

  // ---- receiving --------------------------------------------------------

  private onRtp(buf: Buffer, len: number): void {
    const h = this.header;
    if (this.closed || !readRtpHeader(buf, len, h)) return;
    if (h.ssrc !== this.remoteSsrc) {
      // A new source (RFC 3550 §8.2, e.g. after a re-INVITE): its events start afresh.
      this.remoteSsrc = h.ssrc;
      this.receiver.reset();
    }
    if (this.telephoneEventPt !== undefined && h.payloadType === this.telephoneEventPt) {
      this.counters.eventPacketsReceived++;
      this.rfc4733Seen = true;
      const digit = this.receiver.push(h.timestamp, buf, h.payloadOffset, h.payloadLength, h.sequence);
      if (digit) this.receiveDigit(digit, h.timestamp);
      return;
    }
    if (h.payloadType !== this.payloadType) return; // comfort noise and the like: not decoded
    this.counters.audioPacketsReceived++;
    if (!this.recording && this.rfc4733Seen) return; // nobody needs the audio
    this.window.push(h.sequence, h.timestamp, h.ssrc, buf, h.payloadOffset, h.payloadLength);
  }

  private onAudio(bytes: Buffer, offset: number, length: number, ts: number): void {
    const pcm = this.decoded;
    decodeG711(this.codec, bytes, pcm, offset, length);
    this.audioEndTs = (ts + length) >>> 0;
    const active = this.recording;
    if (active) {
      const stop = active.rec.push(pcm, 0, length);
      if (stop) this.stopRecording(active, stop);
    }
    if (!this.rfc4733Seen) {
      for (const d of this.detector.push(pcm, 0, length)) this.receiveDigit(d);
    }
  }

  private onAudioLoss(samples: number): void {
    const active = this.recording;
    if (!active) return;
    const stop = active.rec.pushGap(samples);
    if (stop) this.stopRecording(active, stop);
  }

  /** One digit, from any source, in arrival order. `eventTs`: RTP timestamp of an RFC 4733 event. */
  private receiveDigit(digit: string, eventTs?: number): void {
    if (this.closed) return;
    this.counters.digitsReceived++;
    try {
      this.onDigit?.(digit);
    } catch (err) {
      this.log?.warn({ err }, "onDigit observer failed");
    }
    const active = this.recording;
    if (active?.terminators.includes(digit)) {
      this.stopRecording(active, "terminator", digit, eventTs);
      return;
    }
    const c = this.collector;
    if (c) this.feedCollector(c, digit);
    else {
      if (this.queue.length >= MAX_QUEUED_DIGITS) this.queue.shift();
      this.queue.push(digit);
    }
    const job = this.plays[0];
    if (job?.bargeIn) {
      // Barge-in: the prompt stops at once; the digit is left for collect().
      this.plays.shift();
      job.resolve("interrupted");
      this.talkspurtStart = true;
    }
  }

  private feedCollector(c: Collector, digit: string): void {
    if (c.terminators.includes(digit)) {
      this.finishCollector(c, "terminator");
      return;
    }
    c.digits += digit;
    if (c.digits.length >= c.opts.max) this.finishCollector(c, "max");
    else this.armCollector(c, c.opts.interTimeoutMs);
  }

  private armCollector(c: Collector, ms: number): void {
    c.timer?.cancel();
    c.timer = this.clock.setTimer(ms, () => {
      c.timer = null;
      this.finishCollector(c, "timeout");
    });
  }

  private finishCollector(c: Collector, reason: CollectResult["reason"]): void {
    if (this.collector !== c) return;
    this.collector = null;
    c.timer?.cancel();
    c.timer = null;
    c.resolve({ digits: c.digits, reason });
  }

  private stopRecording(
    active: ActiveRecording,
    reason: RecordResult["reason"],
    terminator?: string,
    eventTs?: number,
  ): void {
    if (this.recording !== active) return;
    this.recording = null;
    active.timer?.cancel();
    active.timer = null;
    let trim = 0;
    if (reason === "terminator") {
      trim = TERMINATOR_TRIM_SAMPLES;
      // An RFC 4733 event says when the key went down (§2.3.1): cut from
      // there if that is further back than the fixed trim.
      if (eventTs !== undefined && this.audioEndTs >= 0) {
        const since = (this.audioEndTs - eventTs) | 0;
        if (since > trim && since < 8000 * 2) trim = since;
      }
    }
    const samples = active.rec.samples(reason === "silence", trim);
    const durationMs = Math.round((samples.length * 1000) / 8000);
    const result: RecordResult = { path: active.path, durationMs, reason };
    if (terminator) result.terminator = terminator;
    writeRecording(active.path, samples).then(
      () => active.resolve(result),
      (err) => {
        this.log?.error({ err, path: active.path }, "writing recording failed");
        active.reject(err);
      },
    );
  }
}
