export * from "./media-leg.ts";
export * from "./packet.ts";
export * from "./packet-bridge.ts";
export * from "./port-pool.ts";
export * from "./relay.ts";
export * from "./rtp-leg.ts";
export * from "./send-ring.ts";
