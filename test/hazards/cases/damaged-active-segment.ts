// One changed byte in the middle of an embedded-log active segment (bit rot, a stray write)
// while strata is stopped: the next start must refuse, naming the file and byte, keep a copy
// and cut nothing; with the byte restored (from a backup) strata serves every acknowledged event.
import { runActiveDamage } from '../active-damage.ts'
import type { HazardCase } from '../outcome.ts'

const hazard: HazardCase = {
  name: 'damaged-active-segment',
  description:
    'one byte of an acknowledged record in the middle of an active segment is changed while strata is stopped',
  run: (context) =>
    runActiveDamage(context, {
      // One byte of record 500 (a quote) changed.
      damage: (original) => {
        const lines = original.toString().split('\n')
        lines[500] = lines[500]!.replace('"user":"u', '"user": u')
        return Buffer.from(lines.join('\n'))
      },
      // Served anyway (the old behaviour), the log was cut at the damage: records 500 to 1199.
      lostIfServed: 700,
    }),
}

export default hazard
