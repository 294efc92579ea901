// TEMPORARY (session 11 freshness trace, not to be kept): JSON lines to $STRATA_TRACE, one clock
// (CLOCK_MONOTONIC via process.hrtime, shared by the processes and threads of the machine).
import { appendFileSync } from 'node:fs'

const file = process.env.STRATA_TRACE ?? ''
export const tracing = file !== ''
export const tnow = (): number => Number(process.hrtime.bigint()) / 1e6
export function trace(o: object): void {
  if (tracing) appendFileSync(file, `${JSON.stringify(o)}\n`)
}
/** The fetch whose batches are being delivered now (fetch-loop.ts). */
export const lastFetch = { sent: 0, answered: 0 }
/** The probe urls in a batch (a record value holding "/probe/<uuid>"). */
export function probesIn(records: readonly { value: Buffer }[]): string[] {
  const out: string[] = []
  for (const r of records) {
    const at = r.value.indexOf('/probe/')
    if (at >= 0) out.push(r.value.toString('latin1', at, at + 7 + 36))
  }
  return out
}
/** The last speed commit's transaction callback (lmdb-speed.ts). */
export const lastTxn = { start: 0, end: 0 }
