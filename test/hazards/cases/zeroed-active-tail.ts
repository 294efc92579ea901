// Zeros over the last acknowledged records of an embedded-log active segment, to the end of the
// file (a lost write of their pages, a careless dd), while strata is stopped: no valid record
// follows them, so before session 15 the next start cut them as a torn tail and served the log
// without them. It must refuse, naming the file and byte, keep a copy and cut nothing; with the
// bytes restored (from a backup) strata serves every acknowledged event.
import { runActiveDamage } from '../active-damage.ts'
import type { HazardCase } from '../outcome.ts'

const hazard: HazardCase = {
  name: 'zeroed-active-tail',
  description:
    'the last 300 acknowledged records of an active segment are zeroed to the end of the file while strata is stopped',
  run: (context) =>
    runActiveDamage(context, {
      // Its records from the 900th on zeroed, to the end of the file.
      damage: (original) => {
        const lines = original.toString().split('\n')
        const from = Buffer.byteLength(lines.slice(0, lines.length - 301).join('\n')) + 1
        return Buffer.from(original).fill(0, from)
      },
      lostIfServed: 300,
      // Before session 15 the log cut the zeros as a torn tail and the start was refused only
      // because the store counted the records the log no longer had (STORE_AHEAD_OF_LOG).
      storeAheadWayOut: true,
    }),
}

export default hazard
