export * from "./endpoint.ts";
export * from "./errors.ts";
export * from "./pacer.ts";
export type { PlayItem } from "./play-source.ts";
