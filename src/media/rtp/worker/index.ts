// The main thread's side of the media worker threads (the worker's own entry,
// media-worker.ts, is started by MediaThread and never imported here).
export * from "./media-thread.ts";
export * from "./media-worker-pool.ts";
export * from "./remote-rtp-leg.ts";
