// RTP port pairs for call legs, from the pool of VPBX_RTP_PORTS. A call
// takes its legs here and gives them back when it ends, whatever the path.
//
// With media threads (VPBX_MEDIA_THREADS, one per core by default) the
// sockets live on worker threads, each on its slice of the range; the legs
// of one call are put on one worker (allocate's `near`), which then relays
// them itself. With 0 threads everything stays on this thread, as before.
//
// Browser legs (allocateWebRtc: ICE-lite, DTLS-SRTP, SRTP on one UDP port)
// stay on this thread, whatever the threads: their DTLS is werift's, a
// library with its own state and real timers that a worker would have to
// host and drive over the thread protocol, and a browser leg costs a
// handshake and SRTP where a relay costs a copy; there are few of them (one
// per softphone call), and the relay between a browser leg and a leg on a
// worker goes through this thread like the relay of two legs on two
// workers. Their ports come from the same range: with threads, from a pool
// of this thread over the whole range, where a port that a worker holds
// fails to bind (EADDRINUSE) and is skipped, as the workers skip ours.
import type { MediaLeg } from "../../media/rtp/media-leg.ts";
import { RtpPortPool, type RtpSocketPair } from "../../media/rtp/port-pool.ts";
import { RtpLeg } from "../../media/rtp/rtp-leg.ts";
import { MediaWorkerPool } from "../../media/rtp/worker/media-worker-pool.ts";
import {
  type DtlsCertificate,
  processDtlsCertificate,
  udpSocketPort,
  WebRtcTransport,
} from "../../media/webrtc/index.ts";
import type { Clock } from "../../util/clock.ts";
import type { Logger } from "../../util/log.ts";

export interface MediaLegs {
  /** Our address as written in SDP. */
  readonly address: string;
  /**
   * A leg on a free port pair. `near`: a leg of the same call, whose media
   * thread gets the new one too when it has room (the relay between them
   * then stays inside that thread).
   */
  allocate(near?: MediaLeg): Promise<MediaLeg>;
  /**
   * A browser's leg (docs/WEBRTC.md) on a free port of the range, on this
   * thread; released with release(). A wrapper of MediaLegs (metering,
   * rtpengine) passes it on: browser legs are always the PBX's own.
   * `log`: the call's (its Call-ID on what the leg logs).
   */
  allocateWebRtc(log?: Logger): Promise<WebRtcTransport>;
  release(leg: MediaLeg): void;
}

export interface MediaLegsOptions {
  /** Media worker threads; 0: the sockets on this thread. */
  threads: number;
  /** The media worker threads' nice value (0, the default: the process's); none for media on this thread. */
  nice?: number;
  rtpPorts: { min: number; max: number };
  bind: string;
  /** Our address as written in SDP. */
  publicAddress: string;
  clock: Clock;
  log: Logger;
  /** Browser legs' DTLS certificate (default: the process's own, processDtlsCertificate()). */
  dtlsCertificate?: DtlsCertificate;
  /** Browser legs: DTLS must be up this long after the browser's SDP (default 15 s), consent (default 30 s). */
  webRtc?: { handshakeTimeoutMs?: number; consentTimeoutMs?: number };
}

/** Browser legs on this thread, on ports of `pool`. */
function browserLegs(
  pool: RtpPortPool,
  opts: MediaLegsOptions,
): {
  allocate(log?: Logger): Promise<WebRtcTransport>;
  release(leg: WebRtcTransport): void;
} {
  const pairs = new Map<WebRtcTransport, RtpSocketPair>();
  return {
    async allocate(log = opts.log) {
      // Made once, on the first browser call: a PBX without browsers never pays for it.
      const certificate = opts.dtlsCertificate ?? (await processDtlsCertificate());
      // A pair, as for any leg: the odd port stays bound and unused (rtcp-mux),
      // so the even/odd rotation of the range is the same for every kind of leg.
      const pair = await pool.allocate();
      const transport = new WebRtcTransport({
        port: udpSocketPort(pair.rtp, log),
        localAddress: opts.publicAddress,
        localPort: pair.rtpPort,
        certificate,
        clock: opts.clock,
        log,
        handshakeTimeoutMs: opts.webRtc?.handshakeTimeoutMs,
        consentTimeoutMs: opts.webRtc?.consentTimeoutMs,
      });
      pairs.set(transport, pair);
      return transport;
    },
    release(leg) {
      leg.close();
      const pair = pairs.get(leg);
      if (!pair) return;
      pairs.delete(leg);
      pool.release(pair);
    },
  };
}

/** The legs of every call; stop() ends the media threads (after the calls ended). */
export async function createMediaLegs(
  opts: MediaLegsOptions,
): Promise<MediaLegs & { stop(): Promise<void> }> {
  const { clock, log } = opts;
  if (!Number.isInteger(opts.threads) || opts.threads < 0) {
    throw new RangeError(`media threads must be a whole number ≥ 0, not ${opts.threads}`);
  }
  if (opts.threads === 0) {
    const pool = new RtpPortPool({ min: opts.rtpPorts.min, max: opts.rtpPorts.max, bind: opts.bind, log });
    const browsers = browserLegs(pool, opts);
    return {
      address: opts.publicAddress,
      allocate: async () => new RtpLeg(await pool.allocate(), { clock, log }),
      allocateWebRtc: (log) => browsers.allocate(log),
      release: (leg) => {
        if (leg instanceof WebRtcTransport) {
          browsers.release(leg);
          return;
        }
        leg.close();
        if (leg instanceof RtpLeg) pool.release(leg.pair);
      },
      stop: async () => {},
    };
  }
  const pool = await MediaWorkerPool.start({
    threads: opts.threads,
    rtpPorts: opts.rtpPorts,
    bind: opts.bind,
    nice: opts.nice,
    clock,
    log,
  });
  const browsers = browserLegs(
    new RtpPortPool({ min: opts.rtpPorts.min, max: opts.rtpPorts.max, bind: opts.bind, log }),
    opts,
  );
  return {
    address: opts.publicAddress,
    allocate: (near) => pool.allocate(near),
    allocateWebRtc: (log) => browsers.allocate(log),
    release: (leg) => {
      if (leg instanceof WebRtcTransport) browsers.release(leg);
      else pool.release(leg);
    },
    stop: () => pool.stop(),
  };
}
