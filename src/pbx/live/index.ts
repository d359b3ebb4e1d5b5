// The console's live updates (change notices): the public face of src/pbx/live.
export {
  DEFAULT_COALESCE_MS,
  LIVE_TYPES,
  LiveFeed,
  type LiveFeedDeps,
  type LiveNotice,
  type LivePublisher,
  type LiveSource,
  type LiveType,
} from "./live-feed.ts";
