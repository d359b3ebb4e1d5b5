// A deadline for a request's body. A client that sends the headers and then
// dribbles the body a byte at a time ("slow POST", slowloris for bodies)
// holds a connection and a parser forever; Node's own requestTimeout checks
// only every connectionsCheckingInterval and on the wall clock. This guard
// runs on the injected clock: a body not complete `timeoutMs` after its
// headers (plus time for a large upload at a modest rate) is cut with 408
// (RFC 9110 §15.5.9) and the connection closed.
import { PassThrough, type Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { Clock } from "../util/clock.ts";
import { ApiError } from "./errors.ts";

export interface BodyTimeoutOptions {
  clock: Clock;
  /** A body must be complete this long after the headers arrived. */
  timeoutMs: number;
  /**
   * A declared large body (an audio upload) gets one more second per this
   * many bytes: 256 KiB/s is a slow office line, so a 16 MiB greeting still
   * arrives, and a JSON body (64 KiB at most) gets a quarter second more.
   */
  bytesPerSecond: number;
}

export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
export const DEFAULT_BODY_BYTES_PER_SECOND = 256 * 1024;

/** Whether the request announces a body (RFC 9112 §6.3). */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  if (headers["transfer-encoding"] !== undefined) return true;
  const length = Number(headers["content-length"]);
  return Number.isFinite(length) && length > 0;
}

/** Adds the deadline to every request with a body of `app`. */
export function addBodyTimeout(app: FastifyInstance, opts: BodyTimeoutOptions): void {
  app.addHook("preParsing", async (req, reply, payload: Readable) => {
    if (!hasBody(req.headers)) return payload;
    const declared = Number(req.headers["content-length"]);
    const extra = Number.isFinite(declared) ? Math.ceil((declared / opts.bytesPerSecond) * 1000) : 0;
    const deadline = opts.timeoutMs + extra;
    // The parser reads this stream; on the deadline it errors, and Fastify
    // answers with that error (the 408) instead of waiting for the rest.
    const guarded = new PassThrough();
    const timer = opts.clock.setTimer(deadline, () => {
      req.log.warn(
        { source: req.ip, method: req.method, url: req.url.split("?", 1)[0], deadlineMs: deadline },
        "request body too slow: cut",
      );
      payload.unpipe(guarded);
      reply.header("connection", "close");
      // Once the 408 is out, the rest of the body is not waited for.
      reply.raw.once("finish", () => req.raw.destroy());
      guarded.destroy(
        new ApiError(
          408,
          "request_timeout",
          `the request body did not arrive within ${Math.round(deadline / 1000)} s`,
        ),
      );
    });
    const stop = () => timer.cancel();
    payload.once("end", stop);
    // A client gone mid-body ends the parse too (Node emits "aborted" as an error).
    payload.once("error", (err) => {
      stop();
      guarded.destroy(err);
    });
    reply.raw.once("close", stop);
    payload.pipe(guarded);
    return guarded;
  });
}
