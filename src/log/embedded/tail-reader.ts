// Reading one partition of the embedded log from an offset: sealed segments first (checksums
// verified), then the active segment up to its durable end, then waiting for appends. The active
// file is read through a descriptor of our own: a seal renames the file, the descriptor still
// reads the same bytes, and the next state names the new active segment.
import { type FileHandle, open } from 'node:fs/promises'
import { join } from 'node:path'
import { activeFileName, readRecords, segmentRecords } from '../../master-dataset/index.ts'
import type { LogBatch, LogReadOptions } from '../log.ts'
import type { PartitionLog } from './partition-log.ts'

const MAX_BATCH_RECORDS = 16_384

interface Tail {
  start: number
  handle: FileHandle
  position: number
}

export async function* readPartitionLog(
  root: string,
  log: PartitionLog,
  fromOffset: number,
  options: LogReadOptions = {},
): AsyncGenerator<LogBatch> {
  const { partition } = log
  const to = options.to ?? Number.POSITIVE_INFINITY
  const signal = options.signal
  let next = fromOffset
  let tail: Tail | undefined
  const batch = (records: LogBatch['records']): LogBatch => ({
    partition,
    records,
    nextOffset: records.at(-1)!.offset + 1,
  })
  try {
    while (next < to && !signal?.aborted) {
      const state = log.state
      if (next < state.activeStart) {
        const bound = Math.min(to, state.activeStart)
        for await (const records of readRecords(root, partition, { from: next, to: bound })) {
          for (let i = 0; i < records.length; i += MAX_BATCH_RECORDS) {
            yield batch(records.slice(i, i + MAX_BATCH_RECORDS).map((r) => ({ partition, ...r })))
          }
        }
        next = bound
        continue
      }
      if (next >= state.durableEnd) {
        if (log.stopped) return
        await log.changed(signal)
        continue
      }
      if (tail?.start !== state.activeStart) {
        await tail?.handle.close()
        tail = undefined
        try {
          tail = {
            start: state.activeStart,
            handle: await open(join(log.dir, activeFileName(state.activeStart))),
            position: 0,
          }
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
          // Sealed since we looked: wait for the log to publish its new state.
          if (log.state.activeStart === state.activeStart) await log.changed(signal)
          continue
        }
      }
      const length = state.durableBytes - tail.position
      const data = Buffer.alloc(length)
      let read = 0
      while (read < length) {
        const { bytesRead } = await tail.handle.read(data, read, length - read, tail.position + read)
        if (bytesRead === 0) break
        read += bytesRead
      }
      const complete = data.lastIndexOf(0x0a, read - 1) + 1
      tail.position += complete
      const records = segmentRecords(data.subarray(0, complete), next, to).map((r) => ({ partition, ...r }))
      for (let i = 0; i < records.length; i += MAX_BATCH_RECORDS) {
        yield batch(records.slice(i, i + MAX_BATCH_RECORDS))
      }
      if (records.length > 0) next = records.at(-1)!.offset + 1
    }
  } finally {
    await tail?.handle.close()
  }
}
