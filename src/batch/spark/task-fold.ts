// `strata task fold`: a fold task of the Spark batch engine, run by Spark's `pipe` on an executor.
// Reads fold tasks (protocol.ts), one JSON line each, from stdin; folds each partition below its
// horizon with the same code the local engine's threads run (partition-fold.ts); prints each
// (view, window, key) state and one meta line. A task that fails exits non-zero, so Spark fails
// the attempt, discards its output and retries it elsewhere.
//
// An s3:// master dataset is read here, on the executor: the task copies its partition's segments
// below the horizon into a folder of its own (verified against their checksums, as the local
// engine's copy is), folds it and removes it. No segment passes through the driver.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { isObjectStoreUrl, openMasterDataset } from '../../master-dataset/index.ts'
import { foldPartition } from '../partition-fold.ts'
import { asciiJson, groupOf, META_GROUP, type SparkFoldTask, type TaskMeta } from './protocol.ts'
import { readLines, writeLine } from './task-io.ts'
import { taskViews } from './task-views.ts'

export async function runFoldTasks(input: NodeJS.ReadableStream, output: Writable): Promise<void> {
  for await (const line of readLines(input)) {
    if (line.trim() === '') continue
    await foldOne(JSON.parse(line) as SparkFoldTask, output)
  }
}

async function foldOne(task: SparkFoldTask, output: Writable): Promise<void> {
  const views = await taskViews(task.configPath, task.views)
  let copy: string | undefined
  try {
    let root = task.root
    if (isObjectStoreUrl(task.root)) {
      copy = await mkdtemp(join(tmpdir(), `strata-task-p${task.partition}-`))
      const dataset = await openMasterDataset(task.root, {
        readOnly: true,
        cacheRoot: copy,
        ...(task.s3 ? { s3: task.s3 } : {}),
      })
      try {
        const horizon = Array.from({ length: task.partition + 1 }, (_, p) =>
          p === task.partition ? task.to : 0,
        )
        root = await dataset.localCopy(horizon)
      } finally {
        await dataset.close()
      }
    }
    const fold = await foldPartition({ root, partition: task.partition, to: task.to, views })
    for (const [v, table] of fold.tables.entries()) {
      const { monoid } = views[v]!
      for (const window of table.windowStarts()) {
        for (const [key, state] of table.groupsIn(window)) {
          await writeLine(
            output,
            `${groupOf(v, window, key)}\t${task.partition}\t${asciiJson(monoid.encode(state))}`,
          )
        }
      }
    }
    const meta: TaskMeta = { events: fold.events, errors: fold.errors }
    await writeLine(output, `${META_GROUP}\t${task.partition}\t${asciiJson(meta)}`)
  } finally {
    if (copy) await rm(copy, { recursive: true, force: true })
  }
}
