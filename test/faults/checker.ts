// The checker: asks the serving process every key of every view and compares each answer with
// the reference computed from the workload's outcomes. Per view:
// - events_by_second names events: a window counted 0 times for an acknowledged event is lost,
//   any count above 1 is duplicated (an indeterminate event may count 0 or 1 times), and a
//   window no event of ours was sent to counts as duplicated too (it cannot come from anywhere);
// - events_by_key: per key, the count must lie in [acked, acked + indeterminate]; below is lost,
//   above is duplicated, in events;
// - value_by_key: per key, the sum of ids must lie in [acked sum, acked sum + indeterminate sum];
//   a sum outside counts one lost or duplicated event for that key (a sum cannot say how many).
// The answers must also cover the whole log: asOf >= the end offsets the caller read before.
import { BASE_TS, eventOf, KEYS, type Outcome } from './workload.ts'

export const VIEWS = ['events_by_key', 'value_by_key', 'events_by_second'] as const
export type ViewName = (typeof VIEWS)[number]

export interface ViewCheck {
  lost: number
  duplicated: number
  /** A few offending event ids or keys, for the report. */
  examples: string[]
}

export type CheckResult = Record<ViewName, ViewCheck>

interface Answer {
  value?: number
  windows?: Array<{ windowStart: number; value: number }>
  asOf: number[]
  batch: { version: number; horizon: number[] } | null
}

export async function fetchAnswer(serveUrl: string, view: string, key: string): Promise<Answer> {
  const res = await fetch(`${serveUrl}/views/${view}/${encodeURIComponent(key)}`, {
    signal: AbortSignal.timeout(30_000),
  })
  if (!res.ok) throw new Error(`GET /views/${view}/${key}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Answer
}

function emptyCheck(): ViewCheck {
  return { lost: 0, duplicated: 0, examples: [] }
}

function note(check: ViewCheck, example: string): void {
  if (check.examples.length < 5) check.examples.push(example)
}

export async function checkViews(
  serveUrl: string,
  outcomes: readonly Outcome[],
  endOffsets: readonly number[],
): Promise<CheckResult> {
  const result: CheckResult = {
    events_by_key: emptyCheck(),
    value_by_key: emptyCheck(),
    events_by_second: emptyCheck(),
  }
  for (let k = 0; k < KEYS; k++) {
    const key = `k${k}`
    let acked = 0
    let maybe = 0
    let ackedSum = 0
    let maybeSum = 0
    const expected = new Map<number, Outcome>() // window start -> outcome of its one event
    for (let id = k; id < outcomes.length; id += KEYS) {
      const event = eventOf(id)
      expected.set(event.ts, outcomes[id]!)
      if (outcomes[id] === 'acked') {
        acked++
        ackedSum += event.v
      } else {
        maybe++
        maybeSum += event.v
      }
    }
    for (const view of VIEWS) {
      const answer = await fetchAnswer(serveUrl, view, key)
      for (const [p, end] of endOffsets.entries()) {
        if ((answer.asOf[p] ?? 0) < end)
          throw new Error(`${view}/${key}: asOf ${answer.asOf} below the log end ${endOffsets}`)
      }
      const check = result[view]
      if (view === 'events_by_second') {
        const seen = new Set<number>()
        for (const w of answer.windows ?? []) {
          seen.add(w.windowStart)
          const outcome = expected.get(w.windowStart)
          const id = (w.windowStart - BASE_TS) / 1000
          if (outcome === undefined) {
            check.duplicated += w.value
            note(check, `unknown window ${w.windowStart} of ${key} counted ${w.value}`)
          } else if (w.value > 1 || w.value < 0) {
            check.duplicated += w.value - 1
            note(check, `event ${id} counted ${w.value} times`)
          } else if (w.value === 0 && outcome === 'acked') {
            check.lost++
            note(check, `event ${id} counted 0 times`)
          }
        }
        for (const [start, outcome] of expected) {
          if (outcome === 'acked' && !seen.has(start)) {
            check.lost++
            note(check, `event ${(start - BASE_TS) / 1000} missing`)
          }
        }
      } else {
        const got = answer.value ?? 0
        const [lo, hi] = view === 'events_by_key' ? [acked, acked + maybe] : [ackedSum, ackedSum + maybeSum]
        const unit = view === 'events_by_key' ? (n: number) => n : () => 1
        if (got < lo) {
          check.lost += unit(lo - got)
          note(check, `${key}: ${got} < ${lo}`)
        } else if (got > hi) {
          check.duplicated += unit(got - hi)
          note(check, `${key}: ${got} > ${hi}`)
        }
      }
    }
  }
  return result
}
