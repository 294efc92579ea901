// A fresh schema per test on the test database (env STRATA_TEST_PG), dropped when the test ends.
import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import pg from 'pg'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import type { Store } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import type { OpenStore } from './store-contract.ts'

export const testUrl = process.env.STRATA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test'

export function newSchemaName(): string {
  return `strata_test_${randomBytes(6).toString('hex')}`
}

/** Runs SQL on a connection of its own (for setup, inspection and cleanup). */
export async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export function dropSchema(schema: string): Promise<void> {
  return withClient(async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  })
}

/**
 * Opens stores on one fresh schema, as several processes would; all are closed, then the schema
 * dropped, in one cleanup after the test.
 */
export function schemaStores(t: TestContext): { schema: string; open: () => Promise<Store> } {
  const defer = deferrer(t)
  const schema = newSchemaName()
  const opened: Store[] = []
  defer(async () => {
    await Promise.all(opened.map((s) => s.close().catch(() => undefined)))
    await dropSchema(schema)
  })
  return {
    schema,
    open: async () => {
      const store = await openPostgresStore(testUrl, { schema })
      opened.push(store)
      return store
    },
  }
}

/** The contract suites' opener: reopening closes the pool and opens again on the same schema. */
export const openTestStore: OpenStore = async (t) => {
  const defer = deferrer(t)
  const schema = newSchemaName()
  let current: Store = await openPostgresStore(testUrl, { schema })
  defer(async () => {
    await current.close()
    await dropSchema(schema)
  })
  return {
    store: current,
    reopen: async () => {
      await current.close()
      current = await openPostgresStore(testUrl, { schema })
      return current
    },
  }
}
