// `strata reset`: the way out of STRATA_ERR_SOURCE_MISMATCH (docs/master-dataset.md#source-identity).
// Empties the store (batch views, speed state, the recorded source) and removes the master
// dataset of the config's topic, so the data folder and the store can start again on a new
// source. Without --yes it only says what it would delete, and exits 1.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import { redactUrl } from '../../core/secrets.ts'
import { validPrefix } from '../../log/embedded/recover-active.ts'
import {
  activeFileName,
  isObjectStoreUrl,
  listPartition,
  listPartitions,
  partitionDir,
} from '../../master-dataset/index.ts'
import { type FolderLock, lockFolders } from '../../runtime/data-lock.ts'
import { describeIdentity, readFolderIdentity, type SourceIdentity } from '../../runtime/source-identity.ts'
import { addCommonOptions, type CommonFlags, type Context, resolveContext } from '../context.ts'
import { type PathSettings, resolvePaths } from '../settings.ts'

interface ResetFlags extends CommonFlags {
  yes?: boolean
  keepMaster?: boolean
}

export function registerResetCommand(program: Command): void {
  addCommonOptions(
    program
      .command('reset')
      .description(
        'delete the derived state of a data folder and a store (views, speed state, master dataset) so they can serve a new source',
      ),
  )
    .option('--keep-master', 'keep the master dataset: empty the store only (the next batch run rebuilds it)')
    .option('-y, --yes', 'delete; without it, only list what would be deleted')
    .addHelpText(
      'after',
      `
Stop every strata process on this data folder and store first (a running strata start, archiver
or speed worker on an embedded store makes --yes exit with STRATA_ERR_DATA_LOCKED).

In Kafka mode the master dataset is a copy of the topic: the archiver copies again what Kafka
still holds (records past the topic's retention are gone for good). In the embedded mode the
master dataset IS the log: deleting it deletes the events.

Examples:
  strata reset --data .strata/data                      # list what would be deleted
  strata reset --data .strata/data --yes
  strata reset --store 'postgres://postgres@127.0.0.1/db?schema=strata' --keep-master --yes`,
    )
    .action(async (flags: ResetFlags) => {
      const paths = resolvePaths(flags)
      const context = await resolveContext(paths)
      // Deleting writes the folders as much as a writer does: their locks first (data-lock.ts), so
      // a running strata start, archiver or speed worker is refused STRATA_ERR_DATA_LOCKED instead
      // of going on writing acknowledged events into deleted files.
      let lock: FolderLock | undefined
      if (flags.yes) {
        const folders = flags.keepMaster ? [] : [context.dataDir]
        if (context.lmdbPath !== undefined) folders.push(context.lmdbPath)
        lock = lockFolders(folders, 'strata reset')
      }
      try {
        await reset(flags, paths, context)
      } finally {
        lock?.release()
      }
    })
}

/** Lists what would be deleted, and with --yes deletes it (under the folders' locks). */
async function reset(flags: ResetFlags, paths: PathSettings, context: Context): Promise<void> {
  const root = context.masterRoot
  const plan: string[] = []
  const store = await context.openStore()
  try {
    const storeSource = await store.readMeta('source')
    const views = (await store.listBatchViews()).length
    const speed = (await store.speedPartitions()).length
    plan.push(
      `the store (${paths.storeUrl ? redactUrl(paths.storeUrl) : 'the embedded store of the data folder'}): ${views} batch views, speed state of ${speed} partitions${
        storeSource ? `, built from ${describeIdentity(storeSource as SourceIdentity)}` : ''
      }`,
    )
    if (!flags.keepMaster && isObjectStoreUrl(root)) {
      // Deleting objects is left to the bucket's own tools (lifecycle rules, versioning).
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        `the master dataset is on object storage (${root}): strata reset does not delete it; delete the prefix with your S3 tools, or pass --keep-master to empty the store only`,
        { field: '--keep-master' },
      )
    }
    if (!flags.keepMaster) {
      const identity = await readFolderIdentity(root)
      let segments = 0
      let unsealed = 0
      for (const p of await listPartitions(root)) {
        const listing = await listPartition(root, p)
        segments += listing.segments.length
        if (listing.activeStart !== undefined) {
          unsealed += await recordsOf(
            join(partitionDir(root, p), activeFileName(listing.activeStart)),
            listing.activeStart,
          )
        }
      }
      const of = identity ? ` of ${describeIdentity(identity.source)}` : ''
      const events = identity?.source.kind === 'embedded' ? ' (the embedded log: the events themselves)' : ''
      // The embedded log's newest events are in its active segments, not yet sealed: "0 sealed
      // segments" alone read as nothing to lose over a folder of acknowledged events.
      const active = unsealed > 0 ? ` and ${unsealed} events not yet sealed` : ''
      plan.push(`the master dataset ${root}${of}: ${segments} sealed segments${active}${events}`)
    }
    if (!flags.yes) {
      console.log(`strata reset would delete:\n${plan.map((line) => `  - ${line}`).join('\n')}`)
      console.log('nothing deleted: run again with --yes')
      process.exitCode = 1
      return
    }
    await store.clear()
  } finally {
    await store.close()
  }
  if (!flags.keepMaster) await rm(root, { recursive: true, force: true })
  console.log(`deleted:\n${plan.map((line) => `  - ${line}`).join('\n')}`)
}

/**
 * The records of an active segment as opening the log would keep them (its valid prefix: not the
 * zeros reserved ahead, a torn line, or lines that are not the log's records).
 */
async function recordsOf(file: string, start: number): Promise<number> {
  const data = await readFile(file).catch(() => Buffer.alloc(0))
  return validPrefix(data, start).records
}
