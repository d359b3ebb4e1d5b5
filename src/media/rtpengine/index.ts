export * from "./bencode.ts";
export * from "./inner-sdp.ts";
export * from "./ng-client.ts";
export * from "./ng-params.ts";
export * from "./ng-reply.ts";
export * from "./ng-types.ts";
export * from "./rtpengine-leg.ts";
