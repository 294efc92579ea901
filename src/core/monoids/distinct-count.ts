// distinctCount(fn): how many distinct values fn(input) returns (null/undefined skipped; values
// compared by their string form, see itemOf). A HyperLogLog that is exact up to `exactLimit`
// distinct values and approximate past it: relative standard error 1.04 / sqrt(2^precision),
// 0.81% at the default precision 14. See sketches/hyperloglog.ts for the representation and the
// error bound. Exactly associative, commutative and idempotent (merge is a set union / register
// max), so the batch/speed split never changes the answer.
import type { Json } from '../event.ts'
import {
  checkEnvelope,
  checkFunction,
  checkInteger,
  definitionOf,
  invalidState,
  itemOf,
  type Monoid,
  withInputReaders,
} from '../monoid.ts'
import { hash53 } from '../sketches/hash.ts'
import { type HllState, HyperLogLog } from '../sketches/hyperloglog.ts'

export interface DistinctCountOptions {
  /** log2 of the number of registers, 4..18. Default 14 (16 KiB dense, 0.81% error). */
  precision?: number
  /** Distinct values kept exactly before switching to registers. Default 1024. */
  exactLimit?: number
}

export function distinctCount<In = any>(
  fn: (input: In) => unknown,
  options: DistinctCountOptions = {},
): Monoid<HllState, In, number> {
  checkFunction(fn, 'distinctCount(fn)')
  const precision = checkInteger(options.precision ?? 14, 'distinctCount precision', 4, 18)
  const exactLimit = checkInteger(options.exactLimit ?? 1024, 'distinctCount exactLimit', 0, 1 << 20)
  const hll = new HyperLogLog(precision, exactLimit)
  const add = (state: HllState, input: In): HllState => {
    const item = itemOf(fn(input))
    return item === undefined ? state : hll.addHash(state, hash53(item))
  }
  return withInputReaders(
    {
      definition: definitionOf('distinctCount', 1, { precision, exactLimit }, [fn]),
      commutative: true,
      zero: () => hll.create(),
      lift: (input) => add(hll.create(), input),
      combine: (a, b) => hll.merge(a, b),
      add,
      result: (state) => hll.estimate(state),
      encode(state): Json {
        if (state.registers === null) return { type: 'hll', version: 1, precision, hashes: hll.hashes(state) }
        const r = state.registers
        return {
          type: 'hll',
          version: 1,
          precision,
          registers: Buffer.from(r.buffer, r.byteOffset, r.length).toString('base64'),
        }
      },
      decode(encoded: Json): HllState {
        const e = checkEnvelope(encoded, 'hll', 1, { precision })
        if (Array.isArray(e.hashes)) {
          const ok = e.hashes.every((h) => Number.isSafeInteger(h) && (h as number) > 0)
          if (!ok) throw invalidState('hll', 'hashes must be positive integers below 2^53')
          return hll.fromHashes(e.hashes as number[])
        }
        if (typeof e.registers === 'string') {
          const registers = new Uint8Array(Buffer.from(e.registers, 'base64'))
          if (registers.length !== hll.registerCount || registers.some((r) => r > hll.maxRegister)) {
            throw invalidState('hll', `expected ${hll.registerCount} registers of at most ${hll.maxRegister}`)
          }
          return hll.fromRegisters(registers)
        }
        throw invalidState('hll', 'expected hashes or registers')
      },
    },
    [fn],
  )
}
