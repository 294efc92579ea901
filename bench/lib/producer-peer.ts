// Strata's Kafka producer as the ingest benchmark's peer (bench/ingest.ts), in a process of its
// own, as each server contender is: its rounds are not slowed by the collection of the bench
// client's HTTP garbage, nor its CPU mixed with the client's. One producer for the whole run, as
// a server's is. Run by fork(): `node bench/lib/producer-peer.ts EVENTS BASE CALL PENDING`
// builds the bench's events (eventAt, the same BASE), sends 'ready', then for each message
// { topic } writes every event to it (CALL records a send, PENDING sends pending) and answers
// { rate, cpuUs }: events per second from the first send to the last acknowledgment, and this
// process's CPU per event over the same span.
import { createProducer } from '../../src/log/kafka/index.ts'
import { brokers, eventAt } from './kafka-bench.ts'

const [events, base, call, pendingMax] = process.argv.slice(2).map(Number) as [number, number, number, number]
const lines = Array.from({ length: events }, (_, i) => eventAt(i, events, base))
const producer = createProducer({ brokers, clientId: 'bench-ingest' })

process.on('message', async (message: { topic?: string }) => {
  if (!message.topic) {
    await producer.close()
    process.exit(0)
  }
  const topic = message.topic
  await producer.partitionsFor(topic)
  const cpu0 = process.cpuUsage()
  const started = performance.now()
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < events; i += call) {
    pending.push(
      producer.send(
        topic,
        lines.slice(i, i + call).map((e) => ({ key: e.key, value: e.value })),
      ),
    )
    if (pending.length >= pendingMax) await pending.shift()
  }
  await Promise.all(pending)
  const rate = events / ((performance.now() - started) / 1000)
  const cpu = process.cpuUsage(cpu0)
  process.send!({ rate, cpuUs: (cpu.user + cpu.system) / events })
})
process.send!('ready')
