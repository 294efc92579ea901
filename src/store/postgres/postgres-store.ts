// The production store: PostgreSQL, shared by several speed, batch and serving processes.
// Same contract and semantics as the embedded LMDB store (src/store/store.ts); the tables and
// their migrations are in migrations.ts, the batch versions in batch.ts, the speed layer's
// hand-off in speed.ts, the query's read in snapshot.ts.
import type pg from 'pg'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { TimeRange } from '../../core/time-range.ts'
import type {
  BatchStage,
  BatchViewMeta,
  CombineEncoded,
  Horizon,
  SpeedCommit,
  SpeedPartition,
  SpeedView,
  Store,
  ViewEntry,
  ViewErrorTally,
  ViewFoldError,
  ViewSnapshot,
} from '../store.ts'
import * as batch from './batch.ts'
import {
  createPool,
  type Db,
  lockSpace,
  parseTarget,
  quoteIdent,
  storeError,
  type Target,
} from './connection.ts'
import { awaitFirstAnswer } from './first-answer.ts'
import * as meta from './meta.ts'
import { migrate } from './migrations.ts'
import { realtimeKeys, snapshot } from './snapshot.ts'
import * as speed from './speed.ts'
import { commitSpeed, recordViewStop, speedViewErrors } from './speed-commit.ts'

export interface PostgresStoreOptions {
  /** Schema holding Strata's tables (default: the URL's `?schema=`, else `strata`). */
  schema?: string
  /** Connections per process (default 4). A staged batch version holds one while it is written. */
  poolSize?: number
  /**
   * Open only a schema Strata already created (a reader such as `strata query`): a missing one is
   * STRATA_ERR_NO_DATA, and nothing is created.
   */
  existing?: boolean
  /**
   * Bound on the server's first answer (a connect and `SELECT 1`, first-answer.ts): the start's
   * --startup-timeout. Past it the open fails with STRATA_ERR_STORE_UNAVAILABLE naming the
   * server and database. The migration that follows is not bounded. Unset: no bound.
   */
  firstAnswerTimeoutMs?: number
  /** The --startup-timeout the message names when `firstAnswerTimeoutMs` is what is left of it. */
  startupTimeoutMs?: number
}

/** Opens (and migrates) the store at a postgres:// URL. Errors never show the URL's password. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const target = parseTarget(url, options.schema)
  if (options.firstAnswerTimeoutMs !== undefined) {
    await awaitFirstAnswer(target, options.firstAnswerTimeoutMs, options.startupTimeoutMs).catch(
      (error: unknown) => {
        throw storeError(error, target, 'opening the store')
      },
    )
  }
  const pool = createPool(target, options.poolSize ?? 4)
  const db: Db = { pool, S: quoteIdent(target.schema), space: lockSpace(target.schema) }
  try {
    if (options.existing && !(await hasStore(pool, target.schema))) {
      throw new StrataError(
        ErrorCodes.NO_DATA,
        `no Strata store in schema ${target.schema} of ${target.display}: give the store strata start wrote with --store (…?schema=NAME); nothing was created`,
      )
    }
    await migrate(pool, target.schema)
    // Versions staged by processes that died before their flip are garbage (batch.ts).
    await batch.dropDeadStages(db)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw storeError(error, target, 'opening the store')
  }
  const store = new PostgresStore(db, target)
  store.dropRetired()
  return store
}

async function hasStore(pool: pg.Pool, schema: string): Promise<boolean> {
  const found = await pool.query(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relname = 'strata_migrations'`,
    [schema],
  )
  return (found.rowCount ?? 0) > 0
}

class PostgresStore implements Store {
  /**
   * A pool of connections: a commit may run before one asked for earlier (SpeedStore.commitsInOrder),
   * so a speed folder keeps one commit in flight.
   */
  readonly commitsInOrder = false
  #db: Db
  #pool: pg.Pool
  #target: Target
  #background: Promise<void> = Promise.resolve()
  #stages = new Set<batch.OpenStage>()

  constructor(db: Db, target: Target) {
    this.#db = db
    this.#pool = db.pool
    this.#target = target
  }

  // Every driver error leaves as a StrataError (code STRATA_ERR_STORE, retriable when it may
  // pass), with the URL's password scrubbed from its message.
  async #run<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw storeError(error, this.#target, doing)
    }
  }

  /** Drops retired versions in the background: a flip does not wait for the deletes. */
  dropRetired(): void {
    this.#background = this.#background.then(() => batch.dropRetired(this.#db)).catch(() => undefined)
  }

  listBatchViews(): Promise<BatchViewMeta[]> {
    return this.#run('listing batch views', () => batch.listBatchViews(this.#db))
  }

  servedBatch(view: string): Promise<BatchViewMeta | undefined> {
    return this.#run(`reading the served version of ${view}`, () => batch.servedBatch(this.#db, view))
  }

  async stageBatch(view: string): Promise<BatchStage> {
    const open = await this.#run(`staging a version of ${view}`, () =>
      batch.stageBatch(this.#db, view, (ended) => this.#stages.delete(ended)),
    )
    this.#stages.add(open)
    const { stage } = open
    const run = <T>(doing: string, fn: () => Promise<T>) =>
      this.#run(`${doing} version ${stage.version} of ${view}`, fn)
    return {
      view,
      version: stage.version,
      put: (entries) => run('writing', () => stage.put(entries)),
      commit: async (meta) => {
        const served = await run('flipping to', () => stage.commit(meta))
        this.dropRetired()
        return served
      },
      abort: () => run('aborting', () => stage.abort()),
    }
  }

  readBatch(view: string, version: number, key: string, range: TimeRange = {}): Promise<ViewEntry[]> {
    return this.#run(`reading ${view}`, () => batch.readBatch(this.#db, view, version, key, range))
  }

  async *scanBatch(view: string, version: number): AsyncIterable<ViewEntry> {
    try {
      yield* batch.scanBatch(this.#db, view, version)
    } catch (error) {
      throw storeError(error, this.#target, `scanning version ${version} of ${view}`)
    }
  }

  batchHistory(limit: number): Promise<BatchViewMeta[]> {
    return this.#run('reading batch history', () => batch.batchHistory(this.#db, limit))
  }

  claimPartition(partition: number, initial: number): Promise<SpeedPartition> {
    return this.#run(`claiming partition ${partition}`, () =>
      speed.claimPartition(this.#db, partition, initial),
    )
  }

  speedPartitions(): Promise<SpeedPartition[]> {
    return this.#run('reading speed partitions', () => speed.speedPartitions(this.#db))
  }

  speedPartition(partition: number): Promise<SpeedPartition | undefined> {
    return this.#run(`reading speed partition ${partition}`, () => speed.speedPartition(this.#db, partition))
  }

  registerSpeedViews(
    views: Array<{ view: string; codeHash: string }>,
    partitions: number,
  ): Promise<SpeedView[]> {
    return this.#run('registering speed views', () => speed.registerSpeedViews(this.#db, views, partitions))
  }

  speedViews(): Promise<SpeedView[]> {
    return this.#run('reading speed views', () => speed.speedViews(this.#db))
  }

  commitSpeed(commit: SpeedCommit, combine: CombineEncoded): Promise<void> {
    return this.#run(`committing partition ${commit.partition}`, () => commitSpeed(this.#db, commit, combine))
  }

  // The commit combines its deltas into the realtime rows itself (speed-commit.ts): no log.
  async compactSpeed(_combine: CombineEncoded): Promise<number> {
    return 0
  }

  alignHorizon(wished: Horizon, floor: Horizon): Promise<Horizon> {
    return this.#run('aligning a horizon', () => speed.alignHorizon(this.#db, wished, floor))
  }

  speedViewErrors(): Promise<Map<string, ViewErrorTally>> {
    return this.#run('reading view errors', () => speedViewErrors(this.#db))
  }

  recordViewStop(failure: ViewFoldError): Promise<void> {
    return this.#run('recording a view stop', () => recordViewStop(this.#db, failure))
  }

  collectEpochs(running: readonly string[]): Promise<void> {
    return this.#run('collecting epochs', () => speed.collectEpochs(this.#db, running))
  }

  snapshot(view: string, key: string, range: TimeRange = {}): Promise<ViewSnapshot> {
    return this.#run(`reading ${view}/${key}`, () => snapshot(this.#db, view, key, range))
  }

  async *realtimeKeys(view: string): AsyncIterable<string> {
    try {
      yield* realtimeKeys(this.#db, view)
    } catch (error) {
      throw storeError(error, this.#target, `listing realtime keys of ${view}`)
    }
  }

  readMeta(name: string): Promise<unknown> {
    return this.#run("reading the store's source", () => meta.readMeta(this.#db, name))
  }

  claimMeta(name: string, value: unknown): Promise<unknown> {
    return this.#run("recording the store's source", () => meta.claimMeta(this.#db, name, value))
  }

  writeMeta(name: string, value: unknown): Promise<void> {
    return this.#run("recording a role's heartbeat", () => meta.writeMeta(this.#db, name, value))
  }

  deleteMeta(name: string): Promise<void> {
    return this.#run("removing a role's heartbeat", () => meta.deleteMeta(this.#db, name))
  }

  listMeta(prefix: string): Promise<Array<[string, unknown]>> {
    return this.#run("reading the roles' heartbeats", () => meta.listMeta(this.#db, prefix))
  }

  async clear(): Promise<void> {
    await this.#background
    await this.#run('emptying the store', () => meta.clearAll(this.#db))
  }

  async close(): Promise<void> {
    await this.#background
    // A version still staged is left as a crash would leave it (the next open drops it):
    // its connection closes, which frees its lock.
    for (const open of [...this.#stages]) open.kill()
    await this.#pool.end()
  }
}
