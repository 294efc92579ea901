// Property: any sequence of appends, seals, clean restarts and crashes (the on-disk leftovers of
// one: a torn line in an active segment, an orphan checksum sidecar, a temp file) keeps every
// partition's offsets contiguous from 0 and its data exactly what was acknowledged, in order.
import assert from 'node:assert/strict'
import { appendFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import { readRecords } from '../../../src/master-dataset/index.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'

type Op =
  | { kind: 'append'; records: { partition: number; n: number }[] }
  | { kind: 'seal' }
  | { kind: 'restart' }
  | { kind: 'crash'; partition: number; torn: string; orphan: boolean }

const PARTITIONS = 2

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.record({ partition: fc.nat(PARTITIONS - 1), n: fc.nat(1000) }), {
        minLength: 1,
        maxLength: 8,
      })
      .map((records) => ({ kind: 'append' as const, records })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'seal' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      partition: fc.nat(PARTITIONS - 1),
      torn: fc.oneof(
        fc.constant(''),
        fc.string({ maxLength: 40 }).map((s) => `{"offset":${s}`),
        fc.constant('\u0000'.repeat(64)),
      ),
      orphan: fc.boolean(),
    }),
  },
)

async function checkDisk(dir: string, model: string[][]): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const values: string[] = []
    for await (const batch of readRecords(dir, p)) {
      for (const record of batch) {
        assert.equal(record.offset, values.length)
        values.push(record.value.toString())
      }
    }
    assert.deepEqual(values, model[p])
  }
}

test('appends, seals, restarts and crashes keep offsets contiguous and data exact', async (t) => {
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { maxLength: 25 }),
      fc.integer({ min: 1, max: 6 }),
      async (ops, maxRecords) => {
        const dir = await tempDir(t, `strata-embedded-prop-${run++}-`)
        const open = () => EmbeddedLog.open({ dir, partitions: PARTITIONS, maxSegmentRecords: maxRecords })
        const model: string[][] = Array.from({ length: PARTITIONS }, () => [])
        let log = await open()
        try {
          for (const op of ops) {
            if (op.kind === 'append') {
              const positions = await log.append(
                op.records.map((r) => ({ partition: r.partition, value: JSON.stringify({ n: r.n, ts: 1 }) })),
              )
              positions.forEach((position, i) => {
                assert.equal(position.offset, model[position.partition]!.length)
                model[position.partition]!.push(JSON.stringify({ n: op.records[i]!.n, ts: 1 }))
              })
            } else if (op.kind === 'seal') {
              await log.seal()
            } else {
              await log.close()
              if (op.kind === 'crash') {
                const folder = join(dir, `p000${op.partition}`)
                const active = (await readdir(folder)).find((n) => n.endsWith('.active'))!
                await appendFile(join(folder, active), op.torn)
                if (op.orphan) {
                  await writeFile(
                    join(folder, '00000000000000000000-99999999999999999999.ndjson.sha256'),
                    'x',
                  )
                  await writeFile(join(folder, '.x.ndjson.1.tmp'), 'partial')
                }
              }
              log = await open()
              await checkDisk(dir, model)
            }
          }
          assert.deepEqual(
            await log.endOffsets(),
            model.map((m) => m.length),
          )
          await checkDisk(dir, model)
        } finally {
          await log.close()
        }
      },
    ),
    { numRuns: 60 },
  )
})
