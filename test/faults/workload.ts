// The workload: keyed events produced with acks=all by the idempotent producer, each with a
// unique id, and what became of each one. A send that resolves acknowledges its records; a send
// that fails leaves them indeterminate — the producer may have written them before the error
// (a retried request whose answer was lost), so the checker accepts them counted 0 or 1 times,
// never twice. After a failed send the producer is replaced, so no retry of the old one is left.
import { createProducer, type KafkaProducer } from '../../src/log/kafka/index.ts'

export const KEYS = 8
/** Event time of event 0; event `id` lives at BASE + id seconds, a window of its own. */
export const BASE_TS = Date.UTC(2026, 0, 1)

export interface FaultEvent {
  k: string
  id: number
  v: number
  ts: number
}

export function eventOf(id: number): FaultEvent {
  return { k: `k${id % KEYS}`, id, v: id, ts: BASE_TS + id * 1000 }
}

export type Outcome = 'acked' | 'indeterminate'

export interface WorkloadOptions {
  brokers: string
  topic: string
  partitions: number
  /** Records per send (default 10). */
  batch?: number
  /** Pause between sends in ms (default 50: about 200 events/s). */
  pauseMs?: number
}

export class Workload {
  /** outcome[id] of every event attempted so far. */
  readonly outcomes: Outcome[] = []
  failedSends = 0
  readonly #options: Required<WorkloadOptions>
  #producer: KafkaProducer | undefined
  #running: Promise<void> | undefined
  #stop = false

  constructor(options: WorkloadOptions) {
    this.#options = { batch: 10, pauseMs: 50, ...options }
  }

  start(): void {
    if (this.#running) return
    this.#stop = false
    this.#running = this.#loop()
  }

  /** Stops after the send in flight has settled: every event has an outcome. */
  async stop(): Promise<void> {
    this.#stop = true
    await this.#running
    this.#running = undefined
  }

  async close(): Promise<void> {
    await this.stop()
    await this.#producer?.close().catch(() => {})
    this.#producer = undefined
  }

  async #loop(): Promise<void> {
    const { brokers, topic, batch, pauseMs } = this.#options
    while (!this.#stop) {
      this.#producer ??= createProducer({ brokers, retries: 20, retryDelay: 250, clientId: 'strata-faults' })
      const first = this.outcomes.length
      const records = Array.from({ length: batch }, (_, i) => {
        const event = eventOf(first + i)
        // Spread by id, not by key: a handful of keys would hash to a few partitions only.
        return { key: event.k, value: JSON.stringify(event), partition: event.id % this.#options.partitions }
      })
      for (let i = 0; i < batch; i++) this.outcomes.push('indeterminate')
      try {
        await this.#producer.send(topic, records)
        for (let i = 0; i < batch; i++) this.outcomes[first + i] = 'acked'
      } catch {
        this.failedSends++
        const old = this.#producer
        this.#producer = undefined
        await old.close().catch(() => {})
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  }
}
