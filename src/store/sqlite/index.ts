export { MIGRATIONS, type Migration, migrate } from "./migrations.ts";
export {
  DEFAULT_RING_TIMEOUT_SECONDS,
  DEFAULT_TENANT_COUNTRY,
  DEFAULT_TENANT_LANGUAGE,
  DEFAULT_TENANT_TIMEZONE,
  openSqliteStore,
  type SqliteStore,
  type SqliteStoreOptions,
} from "./sqlite-store.ts";
