// One batch run from code, as `strata batch` runs it: the views recomputed from the master
// dataset up to its sealed end, a new version staged and flipped per view whose code or data
// changed, and, given brokers, the completion and results published. The scheduled batch role is
// startStrata({ role: 'batch' }); this is the one-off, for a program or a job runner.
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type BatchEngine, type BatchPlan, type BatchRunResult, runBatch } from '../batch/batch-run.ts'
import { createKafkaPublisher } from '../batch/kafka-publisher.ts'
import type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'
import { DEFAULT_CONFIG_FILE, loadConfig } from '../core/config-loader.ts'
import { parseTimerDuration } from '../core/duration.ts'
import { ErrorCodes, isStrataError, StrataError } from '../core/errors.ts'
import { registerUrlSecret } from '../core/secrets.ts'
import {
  childLocation,
  describeDamage,
  isObjectStoreUrl,
  type S3Settings,
  type SegmentDamage,
  SegmentScrub,
} from '../master-dataset/index.ts'
import { createLogger, type Logger } from './logger.ts'
import { lmdbPathOf, openStore } from './open-store.ts'
import { checkRoleSource } from './source-identity.ts'
import { defaultStartupTimeout } from './startup.ts'
import { type Duration, defaultDataDir } from './strata-options.ts'

export type { BatchEngine, BatchPlan, BatchRunResult } from '../batch/batch-run.ts'
export type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'

export interface RecomputeOptions {
  /** The config file (`--config`). Default `strata.config.ts`. */
  config?: string | undefined
  /** The data folder holding the master dataset (`--data`). Default `.strata/data`. */
  data?: string | undefined
  /** The store (`--store`): a folder, `lmdb:PATH` or `postgres://…`. Default `<data>/store`. */
  store?: string | undefined
  /**
   * PostgreSQL: how long its first answer (connect and a first query) may take before
   * STRATA_ERR_STORE_UNAVAILABLE (`--startup-timeout`, default 2m, as `strata start`): a server
   * that takes the connection and never answers held the run forever.
   */
  startupTimeout?: Duration | undefined
  /** Where the master dataset lives (`--master`): a folder or `s3://bucket/prefix`. Default `<data>/master`. */
  master?: string | undefined
  /** How to reach an s3:// master: endpoint, path-style (CLI: STRATA_S3_ENDPOINT, AWS_ENDPOINT_URL). */
  s3?: S3Settings | undefined
  /** Publish completions and results to Kafka (`--brokers`). Default: nothing is published. */
  brokers?: string | undefined
  /** Worker threads (`--threads`). Default: the cores of this machine. */
  threads?: number | undefined
  /** Recompute every view, even those already current (`--force`). */
  force?: boolean | undefined
  /**
   * Hash the sealed NDJSON segments of a local master dataset beside the fold (default true;
   * `--no-segment-check`): the run waits for the check, about a quarter longer (BENCHMARKS.md).
   */
  segmentCheck?: boolean | undefined
  /** Where the fold and combine run (`--engine`): 'local' (default) or 'spark'. */
  engine?: BatchEngine | undefined
  /** The Spark engine's settings (`--spark-master`, `--spark-port`); its master is required. */
  spark?: SparkEngineOptions | undefined
  /** Told the plan before folding starts (horizon, views, offsets to fold). */
  onStart?: ((plan: BatchPlan) => void) | undefined
  /** Told each time more events were folded (the count since the last call). */
  onProgress?: ((events: number) => void) | undefined
  /**
   * Stops the run at its next safe point (fold threads or Spark driver ended, a staged version
   * dropped, nothing flipped after it): it fails with STRATA_ERR_INTERRUPTED, naming
   * `signal.reason` when it is a string ('SIGINT').
   */
  signal?: AbortSignal | undefined
  logger?: Logger | undefined
}

export interface RecomputeResult extends BatchRunResult {
  /**
   * Sealed segments of a local master dataset whose NDJSON failed its checksum while the run
   * read them from their packed copies (segment-scrub.ts), each also logged as a warning with
   * STRATA_ERR_SEGMENT_CORRUPT. Empty when the run folded nothing (views current) or the master
   * dataset is s3:// (checked when copied down).
   */
  damagedSegments: SegmentDamage[]
}

/** Recomputes the batch views once; resolves with the plan and the versions now served. */
export async function recompute(options: RecomputeOptions = {}): Promise<RecomputeResult> {
  const configPath = resolve(options.config ?? DEFAULT_CONFIG_FILE)
  const firstAnswerTimeoutMs = parseTimerDuration(
    options.startupTimeout ?? defaultStartupTimeout,
    'startupTimeout',
    ErrorCodes.INVALID_ARGUMENT,
  )
  const dataDir = resolve(options.data ?? defaultDataDir)
  const config = await loadConfig(configPath)
  registerUrlSecret(options.store)
  const master = options.master ?? join(dataDir, 'master')
  const masterRoot = childLocation(isObjectStoreUrl(master) ? master : resolve(master), config.source.topic)
  // With the store in the data folder (no --store), a folder that is not there is a mistyped
  // --data, not an empty master dataset: opening the store would create one there and publish a
  // version of 0 events (strata query refuses the same folder with STRATA_ERR_NO_DATA). A store
  // given apart may well be served from a new, empty folder: the source check judges that.
  const storeInData = options.store === undefined
  if (storeInData && !existsSync(dataDir) && !isObjectStoreUrl(masterRoot) && !existsSync(masterRoot)) {
    throw new StrataError(
      ErrorCodes.NO_DATA,
      `no data in ${dataDir} (no such folder, no master dataset at ${masterRoot}): give the data folder strata start wrote with --data DIR (or STRATA_DATA); nothing was created`,
    )
  }
  const store = await openStore(lmdbPathOf(options.store, dataDir) ?? options.store!, {
    firstAnswerTimeoutMs,
  })
  const logger = options.logger ?? createLogger('batch')
  const { brokers } = options
  const publisher = brokers ? createKafkaPublisher({ brokers }) : undefined
  // The batch role hashes every sealed segment once per process (roles.ts watchSegments); a
  // one-off run is a process of its own, so it hashes those it reads, beside the fold (in the
  // scrub's process) — only when it folds: the packed copies it reads do not re-hash the NDJSON,
  // and a byte rotten there must be said, not passed over (docs/master-dataset.md).
  const scrub =
    isObjectStoreUrl(masterRoot) || options.segmentCheck === false ? undefined : new SegmentScrub(masterRoot)
  let scrubbing: Promise<void> | undefined
  const onStart = (plan: BatchPlan) => {
    if (scrub && plan.views.length > 0) {
      scrubbing = scrub.check((damage) =>
        logger.warn(`master dataset damaged: ${describeDamage(damage)}`, {
          code: ErrorCodes.SEGMENT_CORRUPT,
          master: masterRoot,
          partition: damage.partition,
          segment: damage.file,
        }),
      )
      // A listing that fails (a gap in the ranges) fails the run itself, with its own words; the
      // hashing process failing is said nowhere else.
      scrubbing = scrubbing.catch((error: unknown) =>
        isStrataError(error)
          ? logger.debug(`segment check: ${error.message}`)
          : logger.warn(`segment check failed: ${(error as Error).message}`, { master: masterRoot }),
      )
    }
    options.onStart?.(plan)
  }
  // The run is waited for until its check ends too: a signal (SIGINT, SIGTERM of `strata batch`)
  // ends the check as well, else a run that had served its versions went on hashing the whole
  // master dataset after "stopping the batch run". What it did not hash is said.
  const stopScrub = () => {
    if (!scrub) return
    void scrub.stop() // awaited in the finally below
    const { checked, listed } = scrub.progress
    if (scrubbing && checked < listed)
      logger.warn(`segment check interrupted: ${checked} of ${listed} sealed segments hashed`, {
        master: masterRoot,
      })
  }
  options.signal?.addEventListener('abort', stopScrub, { once: true })
  try {
    await checkRoleSource('batch', {
      config,
      masterRoot,
      ...(options.s3 ? { s3: options.s3 } : {}),
      store,
      ...(brokers ? { brokers } : {}),
      logger,
    })
    const result = await runBatch({
      config,
      configPath,
      root: masterRoot,
      cacheRoot: join(dataDir, 'master-cache', config.source.topic),
      ...(options.s3 ? { s3: options.s3 } : {}),
      store,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.force === undefined ? {} : { force: options.force }),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.spark ? { spark: options.spark } : {}),
      ...(publisher ? { publisher } : {}),
      onStart,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch((error: unknown) => {
      void scrub?.stop() // the run failed or was interrupted: its own error is what is said
      throw error
    })
    await scrubbing
    return { ...result, damagedSegments: scrub?.damaged ?? [] }
  } finally {
    options.signal?.removeEventListener('abort', stopScrub)
    const stopped = scrub?.stop() // its hashing process lives until then (segment-hash.ts)
    await scrubbing?.catch(() => undefined)
    await stopped
    await publisher?.close()
    await store.close()
  }
}
