// The inside of the ingest producer's thread (sink-thread.ts): the Kafka sink of ingest/kafka-sink.ts
// (the idempotent producer, acks=all), fed the records the HTTP route accepted. Each append is
// answered with the partition and offset of every record, in input order, as two typed arrays
// (transferred, not copied), or with the error as data (its code gives its HTTP status).
// On close: every append already received is answered first, then the producer closes.
import { parentPort, workerData } from 'node:worker_threads'
import { createKafkaSink, type KafkaSinkOptions } from '../ingest/kafka-sink.ts'
import { serialize } from './role-thread.ts'
import type { SinkThreadAnswer, SinkThreadRequest } from './sink-thread.ts'

const port = parentPort!
const sink = createKafkaSink(workerData as KafkaSinkOptions)
const inflight = new Set<Promise<void>>()
const post = (message: SinkThreadAnswer, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

function append(id: number, records: SinkThreadRequest & { type: 'append' }): void {
  const done = sink.append(records.records).then(
    (positions) => {
      const partitions = new Int32Array(positions.length)
      const offsets = new Float64Array(positions.length)
      for (let i = 0; i < positions.length; i++) {
        partitions[i] = positions[i]!.partition
        offsets[i] = positions[i]!.offset
      }
      post({ type: 'written', id, partitions, offsets }, [partitions.buffer, offsets.buffer])
    },
    (error) => post({ type: 'refused', id, error: serialize(error) }),
  )
  inflight.add(done)
  done.finally(() => inflight.delete(done))
}

port.on('message', (message: SinkThreadRequest) => {
  if (message.type === 'append') return append(message.id, message)
  Promise.allSettled([...inflight])
    .then(() => sink.close())
    .then(
      () => post({ type: 'closed' }),
      (error) => post({ type: 'closed', error: serialize(error) }),
    )
    .finally(() => port.close())
})

post({ type: 'ready' })
