// An open-loop load generator at a fixed request rate, one for HTTP/1.1 and for Redis (RESP), so
// the query benchmark treats both servers the same way: the same scheduler, the same number of
// keep-alive connections, the same clock.
//
// Request i is due at start + i / rate and goes out on connection i mod C (pipelined behind that
// connection's earlier requests if they have not been answered yet). Its latency runs from the
// time it was DUE, not from when it was written: a server (or a load generator) that falls
// behind is charged for the wait of every request queued behind it, as wrk2 does. Coordinated
// omission would otherwise hide exactly the stalls a p99 is about. The scheduler wakes at most
// every millisecond and sends everything due, so at 5,000 req/s requests go out ~5 at a time.
import { connect, type Socket } from 'node:net'

export interface PacedOptions {
  host: string
  port: number
  protocol: 'http' | 'resp'
  /** Requests per second, held for the whole run. */
  rate: number
  seconds: number
  connections: number
  /** The bytes of request i (an HTTP GET with its headers, or a RESP command). */
  request: (i: number) => Buffer
}

export interface PacedResult {
  rate: number
  sent: number
  answered: number
  errors: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  /** p50 and p99 measured from when the request was written instead of when it was due. */
  sentP50: number
  sentP99: number
  /** Every answered request's latency from due and from send, ms, sorted: to pool slices of a round. */
  latencies?: Float64Array
  fromSend?: Float64Array
}

/**
 * The order the contenders run in slice `slice` of round `round` (both from the query and the
 * freshness benches): with one slice a round, the order reversed every other round; with several,
 * rotated by one each slice, so a machine stall falls on every contender alike.
 */
export function sliceOrder(names: string[], round: number, slice: number, slices: number): string[] {
  if (slices === 1) return round % 2 === 0 ? [...names].reverse() : names
  const shift = ((round - 1) * slices + slice) % names.length
  return [...names.slice(shift), ...names.slice(0, shift)]
}

/**
 * The rounds of a sliced benchmark in the order they run: `warmRounds` unmeasured ones first (each
 * contender's slices as in a measured round, with round 1's order), then rounds 1..`rounds`. What a
 * contender's first major GC collects after the warm-up (the garbage of the first asks of every
 * key) falls in a warm round rather than in round 1 (BENCHMARKS.md, Query, session 19).
 */
export function roundPlan(rounds: number, warmRounds: number): Array<{ round: number; measured: boolean }> {
  return [
    ...Array.from({ length: Math.max(0, warmRounds) }, () => ({ round: 1, measured: false })),
    ...Array.from({ length: rounds }, (_, i) => ({ round: i + 1, measured: true })),
  ]
}

/**
 * One result from several runs of one contender (the slices of a round, interleaved with the
 * other contenders' slices): the latencies pooled, so its percentiles are those of the round.
 */
export function pooled(parts: PacedResult[], seconds: number): PacedResult {
  const join = (pick: (r: PacedResult) => Float64Array) => {
    const all = new Float64Array(parts.reduce((n, r) => n + pick(r).length, 0))
    let at = 0
    for (const r of parts) {
      all.set(pick(r), at)
      at += pick(r).length
    }
    return all.sort()
  }
  const sorted = join((r) => r.latencies!)
  const sortedSend = join((r) => r.fromSend!)
  const answered = parts.reduce((n, r) => n + r.answered, 0)
  return {
    rate: answered / seconds,
    sent: parts.reduce((n, r) => n + r.sent, 0),
    answered,
    errors: parts.reduce((n, r) => n + r.errors, 0),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    sentP50: percentile(sortedSend, 50),
    sentP99: percentile(sortedSend, 99),
    latencies: sorted,
    fromSend: sortedSend,
  }
}

/** The first complete reply in buf from pos: its length and whether it is a success; undefined until all of it arrived. */
type Framer = (buf: Buffer, pos: number) => { length: number; ok: boolean } | undefined

const CRLFCRLF = Buffer.from('\r\n\r\n')

const httpFramer: Framer = (buf, pos) => {
  const head = buf.indexOf(CRLFCRLF, pos)
  if (head === -1) return undefined
  const headers = buf.toString('latin1', pos, head)
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(headers)
  if (!m) throw new Error(`HTTP answer without content-length: ${headers}`)
  const length = head + 4 - pos + Number(m[1])
  if (buf.length - pos < length) return undefined
  return { length, ok: headers.startsWith('HTTP/1.1 200') }
}

const respFramer: Framer = (buf, pos) => {
  const eol = buf.indexOf('\r\n', pos)
  if (eol === -1) return undefined
  const type = buf[pos]
  if (type !== 0x24 /* $ */) return { length: eol + 2 - pos, ok: false }
  const n = Number(buf.toString('latin1', pos + 1, eol))
  if (n < 0) return { length: eol + 2 - pos, ok: false } // nil: the key is missing
  const length = eol + 2 - pos + n + 2
  if (buf.length - pos < length) return undefined
  return { length, ok: true }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

async function open(host: string, port: number): Promise<Socket> {
  const socket = connect({ host, port, noDelay: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return socket
}

export async function pacedLoad(options: PacedOptions): Promise<PacedResult> {
  const { rate, seconds, connections } = options
  const framer = options.protocol === 'http' ? httpFramer : respFramer
  const total = Math.round(rate * seconds)
  const latencies = new Float64Array(total)
  const fromSend = new Float64Array(total)
  let answered = 0
  let errors = 0
  let failure: Error | undefined
  const sockets = await Promise.all(
    Array.from({ length: connections }, () => open(options.host, options.port)),
  )
  // Per connection: the due and the write times of its requests in flight, in order.
  const due = sockets.map(() => [] as number[])
  const written = sockets.map(() => [] as number[])
  let done: () => void = () => {}
  const allAnswered = new Promise<void>((resolve) => {
    done = resolve
  })
  sockets.forEach((socket, c) => {
    let pending: Buffer = Buffer.alloc(0)
    socket.on('error', (err) => {
      failure ??= err
      done()
    })
    socket.on('data', (chunk: Buffer) => {
      const now = performance.now()
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      let pos = 0
      try {
        for (;;) {
          const reply = framer(pending, pos)
          if (reply === undefined) break
          pos += reply.length
          const at = due[c]!.shift()!
          const sentAt = written[c]!.shift()!
          if (reply.ok) {
            fromSend[answered] = now - sentAt
            latencies[answered++] = now - at
          } else errors++
        }
      } catch (err) {
        failure ??= err as Error
        done()
      }
      pending = pos === pending.length ? Buffer.alloc(0) : pending.subarray(pos)
      if (answered + errors === total) done()
    })
  })

  const start = performance.now() + 5
  const interval = 1000 / rate
  let next = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      const corked = new Set<Socket>()
      while (next < total && start + next * interval <= now) {
        const c = next % connections
        const socket = sockets[c]!
        if (!corked.has(socket)) {
          socket.cork()
          corked.add(socket)
        }
        due[c]!.push(start + next * interval)
        written[c]!.push(now)
        socket.write(options.request(next))
        next++
      }
      for (const socket of corked) socket.uncork()
      if (next < total && failure === undefined)
        setTimeout(tick, Math.max(0, start + next * interval - now - 0.5))
      else resolve()
    }
    setTimeout(tick, 5)
  })
  const waited = await Promise.race([
    allAnswered.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
  ])
  for (const socket of sockets) socket.destroy()
  if (failure) throw failure
  const sent = next
  if (!waited) errors += sent - answered - errors // unanswered after 10 s count as errors
  const sorted = latencies.subarray(0, answered).sort()
  const sortedSend = fromSend.subarray(0, answered).sort()
  return {
    rate: answered / seconds,
    sent,
    answered,
    errors,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    sentP50: percentile(sortedSend, 50),
    sentP99: percentile(sortedSend, 99),
    latencies: sorted,
    fromSend: sortedSend,
  }
}

/** A RESP array command. */
export const resp = (...parts: string[]) =>
  `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`
