// Generated page-view traffic for `strata start --demo`: the example's events (type, url, user,
// ts) at a steady rate, through the same ingest as POST /events. A few hot URLs get most views
// (a Zipf-like skew), users repeat, and some events arrive late (up to two hours) or slightly out
// of order, as real clickstreams do.
import type { Ingest } from '../ingest/ingest.ts'

export interface TrafficOptions {
  ingest: Ingest
  /** Events per second (default 200). */
  rate?: number
  urls?: number
  users?: number
  onError?: (error: unknown) => void
}

export interface Traffic {
  readonly sent: number
  close(): Promise<void>
}

const HOUR = 3_600_000

export function startTraffic(options: TrafficOptions): Traffic {
  const rate = options.rate ?? 200
  const urls = options.urls ?? 50
  const users = options.users ?? 2000
  const tickMs = 100
  let sent = 0
  let inFlight: Promise<unknown> = Promise.resolve()
  let seed = 42
  const random = () => {
    // xorshift: repeatable traffic, so two demo runs look alike.
    seed ^= seed << 13
    seed ^= seed >>> 17
    seed ^= seed << 5
    return (seed >>> 0) / 2 ** 32
  }
  const event = (now: number) => {
    const u = random()
    const late = u < 0.02 ? Math.floor(random() * 2 * HOUR) : u < 0.2 ? Math.floor(random() * 5000) : 0
    return {
      type: random() < 0.85 ? 'page_view' : 'click',
      url: `/${['home', 'pricing', 'docs', 'blog', 'about'][Math.floor(random() ** 3 * 5)]}${random() < 0.5 ? '' : `/${Math.floor(random() ** 2 * urls)}`}`,
      user: `u${Math.floor(random() ** 2 * users)}`,
      ts: now - late,
    }
  }
  const timer = setInterval(() => {
    const n = Math.max(1, Math.round((rate * tickMs) / 1000))
    const now = Date.now()
    const batch = Array.from({ length: n }, () => event(now))
    inFlight = options.ingest.ingestEvents(batch).then(
      () => {
        sent += n
      },
      (error) => options.onError?.(error),
    )
  }, tickMs)
  return {
    get sent() {
      return sent
    },
    async close() {
      clearInterval(timer)
      await inFlight
    },
  }
}
