// One media worker thread seen from the main thread: starts it on its slice
// of the RTP ports, allocates legs on it (RemoteRtpLeg), carries their
// packets and control messages, applies its activity reports, and tells the
// pool when it dies (every leg on it fails: the sockets died with it).
import type { Worker } from "node:worker_threads";
import type { Clock } from "../../../util/clock.ts";
import type { Logger } from "../../../util/log.ts";
import type { ThreadPriorityResult } from "../../../util/thread-priority.ts";
import { startTypeScriptWorker } from "../../../util/typescript-worker.ts";
import type { InPlaceRelay } from "../media-leg.ts";
import { RtpPortPoolExhaustedError } from "../port-pool.ts";
import type { RtpRelayStats } from "../relay.ts";
import {
  type Batch,
  eachMessage,
  type FromWorker,
  LEG_STRIDE,
  Outbox,
  PacketBatchWriter,
  type PacketKind,
  RELAY_COUNTERS,
  RELAY_STRIDE,
  readPacketBatch,
  type ToWorker,
  zeroRelayStats,
} from "./protocol.ts";
import { type LegLink, RemoteRtpLeg } from "./remote-rtp-leg.ts";

export interface MediaThreadOptions {
  /** Which slice of the pool this thread serves (for logs). */
  index: number;
  /** Its slice of the RTP ports: an even min, an odd max. */
  ports: { min: number; max: number };
  bind: string;
  clock: Clock;
  log: Logger;
  /** How often the worker reports counters; default 500 ms (the media timeout is at least 1 s). */
  reportEveryMs?: number;
  /** The worker thread's nice value (default 0: the process's, left as it is). */
  nice?: number;
  /** Called once when the thread dies unasked (not on stop()). */
  onDeath?: (thread: MediaThread, err: Error, legs: number) => void;
}

const WORKER_ENTRY = new URL("./media-worker.ts", import.meta.url);
export const DEFAULT_REPORT_EVERY_MS = 500;

class ThreadRelay implements InPlaceRelay {
  counters: RtpRelayStats = zeroRelayStats();
  stopped = false;

  constructor(
    private readonly thread: MediaThread,
    readonly id: number,
  ) {}

  stats(): RtpRelayStats {
    return { ...this.counters };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.thread.endRelay(this);
  }
}

interface PendingAlloc {
  resolve: (leg: RemoteRtpLeg) => void;
  reject: (err: Error) => void;
}

export class MediaThread implements LegLink {
  readonly log: Logger;
  readonly index: number;
  readonly ports: { min: number; max: number };
  /** What became of the nice value asked for the thread (undefined: none asked). */
  priority: ThreadPriorityResult | undefined;
  private readonly legs = new Map<number, RemoteRtpLeg>();
  private readonly relays = new Map<number, ThreadRelay>();
  private readonly pending = new Map<number, PendingAlloc>();
  private readonly out: PacketBatchWriter;
  private readonly outbox: Outbox<ToWorker>;
  private nextId = 1;
  private state: "starting" | "ready" | "dead" | "stopped" = "starting";
  private lastError: Error | undefined;
  private started: { resolve: () => void; reject: (err: Error) => void } | undefined;

  private constructor(
    readonly worker: Worker,
    private readonly opts: MediaThreadOptions,
  ) {
    this.index = opts.index;
    this.ports = opts.ports;
    this.log = opts.log;
    this.outbox = new Outbox((msg, transfer) => {
      if (this.state === "ready") this.worker.postMessage(msg, transfer);
    });
    this.out = new PacketBatchWriter((buf, length) => {
      this.outbox.push({ t: "packets", buf, length }, [buf]);
      // Already one batch per turn: it leaves at once, with what was said before it.
      this.outbox.flush();
    });
    worker.on("message", (msg: FromWorker | Batch<FromWorker>) =>
      eachMessage<FromWorker>(msg, (m) => this.onMessage(m)),
    );
    worker.on("messageerror", (err) =>
      this.log.error({ err, mediaThread: this.index }, "media worker message lost"),
    );
    worker.on("error", (err) => {
      // An exception that escaped the worker: it exits next ('exit' below).
      this.lastError = err;
    });
    worker.on("exit", (code) => this.onExit(code));
  }

  /** Starts the worker and waits until it is ready to bind ports on its slice. */
  static async start(opts: MediaThreadOptions): Promise<MediaThread> {
    const thread = new MediaThread(startTypeScriptWorker(WORKER_ENTRY), opts);
    await new Promise<void>((resolve, reject) => {
      thread.started = { resolve, reject };
      thread.worker.postMessage({
        t: "init",
        min: opts.ports.min,
        max: opts.ports.max,
        bind: opts.bind,
        logLevel: opts.log.level,
        reportEveryMs: opts.reportEveryMs ?? DEFAULT_REPORT_EVERY_MS,
        nice: opts.nice ?? 0,
      } satisfies ToWorker);
    });
    return thread;
  }

  get alive(): boolean {
    return this.state === "ready";
  }

  /** Legs held and being allocated: what the pool balances on. */
  get load(): number {
    return this.legs.size + this.pending.size;
  }

  /** Binds a pair of ports on the worker. Rejects with RtpPortPoolExhaustedError when its slice is full. */
  allocate(): Promise<RemoteRtpLeg> {
    if (this.state !== "ready") return Promise.reject(new Error(`media thread ${this.index} is not running`));
    const id = this.nextId++;
    return new Promise<RemoteRtpLeg>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ t: "alloc", leg: id });
    });
  }

  /** Closes the leg and gives its ports back to the worker's pool. Idempotent. */
  release(leg: RemoteRtpLeg): void {
    if (leg.link !== this || !this.legs.delete(leg.id)) return;
    // The worker's release closes the leg's sockets too: one message, not two.
    leg.detach();
    this.post({ t: "release", leg: leg.id });
  }

  // ---- LegLink --------------------------------------------------------------

  post(msg: ToWorker): void {
    if (this.state !== "ready") return;
    // Packets queued before this message leave before it (one port, in order).
    this.out.flush();
    this.outbox.push(msg);
  }

  queuePacket(leg: number, kind: PacketKind, buf: Buffer, offset: number, length: number): void {
    if (this.state === "ready") this.out.add(leg, kind, buf, offset, length);
  }

  relayInPlace(a: RemoteRtpLeg, b: RemoteRtpLeg): InPlaceRelay {
    const relay = new ThreadRelay(this, this.nextId++);
    this.relays.set(relay.id, relay);
    this.post({ t: "relay", relay: relay.id, a: a.id, b: b.id });
    return relay;
  }

  endRelay(relay: ThreadRelay): void {
    if (!this.relays.delete(relay.id)) return;
    this.post({ t: "unrelay", relay: relay.id });
  }

  // ---- the worker's side ----------------------------------------------------

  private onMessage(msg: FromWorker): void {
    switch (msg.t) {
      case "packets":
        readPacketBatch(msg.buf, msg.length, (id, kind, packet) => this.legs.get(id)?.deliver(kind, packet));
        return;
      case "activity":
        this.applyReport(msg.legs, msg.relays);
        return;
      case "allocated": {
        const p = this.pending.get(msg.leg);
        if (!p) return;
        this.pending.delete(msg.leg);
        const leg = new RemoteRtpLeg(this, msg.leg, msg.address, msg.rtpPort, msg.rtcpPort, this.opts.clock);
        this.legs.set(msg.leg, leg);
        p.resolve(leg);
        return;
      }
      case "alloc-failed": {
        const p = this.pending.get(msg.leg);
        if (!p) return;
        this.pending.delete(msg.leg);
        p.reject(
          msg.exhausted
            ? new RtpPortPoolExhaustedError(this.ports.min, this.ports.max, this.legs.size)
            : new Error(msg.error),
        );
        return;
      }
      case "log":
        this.relog(msg.line);
        return;
      case "priority":
        this.priority = msg.result;
        return;
      case "ready":
        this.state = "ready";
        this.started?.resolve();
        this.started = undefined;
        return;
      case "init-failed":
        this.started?.reject(new Error(`media thread ${this.index}: ${msg.error}`));
        this.started = undefined;
        this.state = "stopped";
        void this.worker.terminate();
        return;
    }
  }

  private applyReport(legs: Float64Array, relays: Float64Array): void {
    for (let at = 0; at + LEG_STRIDE <= legs.length; at += LEG_STRIDE) {
      this.legs.get(legs[at])?.report(legs, at);
    }
    for (let at = 0; at + RELAY_STRIDE <= relays.length; at += RELAY_STRIDE) {
      const relay = this.relays.get(relays[at]);
      if (!relay) continue;
      const c = relay.counters as Record<keyof RtpRelayStats, number>;
      for (let k = 0; k < RELAY_COUNTERS.length; k++) c[RELAY_COUNTERS[k]] = relays[at + 1 + k];
    }
  }

  /** A line of the worker's pino, logged by ours with the thread's index. */
  private relog(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line);
    } catch (err) {
      this.log.warn({ err, mediaThread: this.index }, "unreadable log line from a media worker");
      return;
    }
    const { level, msg, time: _time, ...fields } = entry;
    const label = this.log.levels.labels[Number(level)];
    const fields2 = { ...fields, mediaThread: this.index };
    const text = typeof msg === "string" ? msg : "";
    switch (label) {
      case "fatal":
      case "error":
        this.log.error(fields2, text);
        return;
      case "warn":
        this.log.warn(fields2, text);
        return;
      case "info":
        this.log.info(fields2, text);
        return;
      case "debug":
        this.log.debug(fields2, text);
        return;
      default:
        this.log.trace(fields2, text);
    }
  }

  private onExit(code: number): void {
    if (this.state === "stopped") return;
    const wasStarting = this.state === "starting";
    this.state = "dead";
    const err = this.lastError ?? new Error(`media worker exited with code ${code}`);
    if (wasStarting) {
      this.started?.reject(err);
      this.started = undefined;
      return;
    }
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    const legs = [...this.legs.values()];
    this.legs.clear();
    for (const relay of this.relays.values()) relay.stopped = true;
    this.relays.clear();
    this.opts.onDeath?.(this, err, legs.length);
    for (const leg of legs) leg.fail(err);
  }

  /** Ends the worker; its legs are closed with it (their sockets too). */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const wasAlive = this.state === "ready";
    this.state = "stopped";
    for (const p of this.pending.values()) p.reject(new Error("media threads stopped"));
    this.pending.clear();
    for (const leg of this.legs.values()) leg.close();
    this.legs.clear();
    this.relays.clear();
    if (wasAlive || this.started) await this.worker.terminate();
    this.started?.reject(new Error("media threads stopped"));
    this.started = undefined;
  }
}
