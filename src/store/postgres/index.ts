// The PostgreSQL store: one entry point. Everything else in this folder is internal.
export { openPostgresStore, type PostgresStoreOptions } from './postgres-store.ts'
