export { MIGRATIONS, type Migration, migrate } from "./migrations.ts";
export { COMPANY_AUDIO_KINDS, SqliteCompanyAudio } from "./sqlite-company-audio.ts";
export { SqliteCompanyFlow } from "./sqlite-company-flow.ts";
export {
  DEFAULT_RING_GROUP_FALLBACK,
  DEFAULT_RING_GROUP_MEMBER_TIMEOUT,
  DEFAULT_RING_GROUP_STRATEGY,
  DEFAULT_RING_GROUP_TIMEOUT,
  namesRingGroup,
  SqliteRingGroups,
} from "./sqlite-ring-groups.ts";
export {
  DEFAULT_AUDIT_LIMIT,
  DEFAULT_MAX_CALLS,
  DEFAULT_NO_ANSWER_SECONDS,
  DEFAULT_RING_TIMEOUT_SECONDS,
  DEFAULT_TENANT_COUNTRY,
  DEFAULT_TENANT_LANGUAGE,
  DEFAULT_TENANT_TIMEZONE,
  DEFAULT_TRUNK_PORT,
  openSqliteStore,
  type SqliteStore,
  type SqliteStoreOptions,
} from "./sqlite-store.ts";
export { type AuditWriter, DEFAULT_MAX_MESSAGE_SECONDS, SqliteVoicemail } from "./sqlite-voicemail.ts";
export { readCallFlow, readDestination, readDestinationSpec, readSchedule } from "./stored-json.ts";
