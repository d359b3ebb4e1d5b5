// RTP port pairs for call legs, from the pool of VPBX_RTP_PORTS. A call
// takes its legs here and gives them back when it ends, whatever the path.
//
// With media threads (VPBX_MEDIA_THREADS, one per core by default) the
// sockets live on worker threads, each on its slice of the range; the legs
// of one call are put on one worker (allocate's `near`), which then relays
// them itself. With 0 threads everything stays on this thread, as before.
import type { MediaLeg } from "../../media/rtp/media-leg.ts";
import { RtpPortPool } from "../../media/rtp/port-pool.ts";
import { RtpLeg } from "../../media/rtp/rtp-leg.ts";
import { MediaWorkerPool } from "../../media/rtp/worker/media-worker-pool.ts";
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
  release(leg: MediaLeg): void;
}

export interface MediaLegsOptions {
  /** Media worker threads; 0: the sockets on this thread. */
  threads: number;
  rtpPorts: { min: number; max: number };
  bind: string;
  /** Our address as written in SDP. */
  publicAddress: string;
  clock: Clock;
  log: Logger;
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
    return {
      address: opts.publicAddress,
      allocate: async () => new RtpLeg(await pool.allocate(), { clock, log }),
      release: (leg) => {
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
    clock,
    log,
  });
  return {
    address: opts.publicAddress,
    allocate: (near) => pool.allocate(near),
    release: (leg) => pool.release(leg),
    stop: () => pool.stop(),
  };
}
