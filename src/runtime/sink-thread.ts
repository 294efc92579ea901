// Ingest's Kafka producer in a worker thread of its own, beside the HTTP server of a process that
// serves and ingests on Kafka (decision 0013). With the speed layer and the archiver in threads,
// the producer was the largest part of the main event loop under POST /events: encoding each
// request's record batches, their CRC32C and the buffers they are copied into, ~38% of its busy
// time (BENCHMARKS.md, Ingest). Parsing and checking a body stay on the route (a refusal names
// its line, nothing of a bad body is written); the accepted records cross to the thread, which
// sends them with the same sink (ingest/kafka-sink.ts: the idempotent producer, acks=all) and
// answers with where each landed, in input order, or with the error (its code, so its status).
//
// A 202 still means what it meant: the thread answers only once Kafka acknowledged every record.
// close() waits for the appends under way (the HTTP server, closed first, drained its requests),
// then closes the producer in the thread. A thread that dies unasked fails what it held (those
// requests get 500: never acknowledged, as after a crash) and is fatal, as a role thread is.
import { Worker } from 'node:worker_threads'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { SinkRecord } from '../ingest/ingest.ts'
import type { KafkaSink, KafkaSinkOptions } from '../ingest/kafka-sink.ts'
import type { RecordPosition } from '../log/log.ts'
import { revive, type SerializedError } from './role-thread.ts'
import type { RoleContext } from './roles.ts'

export type SinkThreadRequest = { type: 'append'; id: number; records: SinkRecord[] } | { type: 'close' }

export type SinkThreadAnswer =
  | { type: 'ready' }
  | { type: 'written'; id: number; partitions: Int32Array; offsets: Float64Array }
  | { type: 'refused'; id: number; error: SerializedError }
  | { type: 'closed'; error?: SerializedError }

const threadFile = new URL(
  import.meta.url.endsWith('.ts') ? './sink-thread-main.ts' : './sink-thread-main.js',
  import.meta.url,
)

export async function startSinkThread(
  context: Pick<RoleContext, 'logger' | 'onFatal'>,
  options: KafkaSinkOptions,
): Promise<KafkaSink> {
  const { logger } = context
  const worker = new Worker(threadFile, { workerData: options })
  const pending = new Map<number, { resolve(p: RecordPosition[]): void; reject(e: Error): void }>()
  let nextId = 0
  let closing = false
  let dead: StrataError | undefined
  let closed: (error?: SerializedError) => void = () => undefined
  const whenClosed = new Promise<SerializedError | undefined>((resolve) => {
    closed = resolve
  })
  const die = (error: StrataError) => {
    dead = error
    for (const { reject } of pending.values()) reject(error)
    pending.clear()
    if (closing) return
    logger.error('ingest producer thread ended; exiting', error)
    if (context.onFatal) context.onFatal(error)
    else process.exit(1)
  }
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: SinkThreadAnswer) => {
      switch (message.type) {
        case 'ready':
          return resolve()
        case 'written': {
          const { partitions, offsets } = message
          const positions: RecordPosition[] = new Array(partitions.length)
          for (let i = 0; i < partitions.length; i++)
            positions[i] = { partition: partitions[i]!, offset: offsets[i]! }
          pending.get(message.id)?.resolve(positions)
          pending.delete(message.id)
          return
        }
        case 'refused':
          pending.get(message.id)?.reject(revive(message.error))
          pending.delete(message.id)
          return
        case 'closed':
          return closed(message.error)
      }
    })
    worker.on('error', (error) => {
      reject(error)
      if (!dead) die(new StrataError(ErrorCodes.INTERNAL, `ingest producer thread failed: ${error.message}`))
    })
    worker.on('exit', (code) => {
      closed()
      const error = new StrataError(ErrorCodes.INTERNAL, `ingest producer thread ended (code ${code})`)
      reject(error)
      if (!dead) die(error)
    })
  })
  try {
    await ready
  } catch (error) {
    closing = true
    await worker.terminate()
    throw error
  }
  return {
    append(records) {
      if (dead) return Promise.reject(dead)
      const id = nextId++
      return new Promise<RecordPosition[]>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        worker.postMessage({ type: 'append', id, records } satisfies SinkThreadRequest)
      })
    },
    async close() {
      if (closing) return
      closing = true
      // The thread answers every append posted before this (messages keep their order), then
      // closes the producer and says so.
      worker.postMessage({ type: 'close' } satisfies SinkThreadRequest)
      const error = await whenClosed
      await worker.terminate()
      if (error) throw revive(error)
    },
  }
}
