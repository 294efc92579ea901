// `npm run test:load -- [--minutes 3] [--rate 5000] [--batch 100] [--concurrency 8] [--pause 10]`:
// issue 7's long load run (load-harness.ts) against the Kafka broker of STRATA_TEST_BROKERS
// (default 127.0.0.1:9092). Prints the figures as JSON and exits 1 when a check failed. Not part
// of `npm test`: it runs for minutes.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runLoad } from './load-harness.ts'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '5000' },
    batch: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '8' },
    pause: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
  },
})
const dir = await mkdtemp(join(tmpdir(), 'strata-load-'))
const figures = await runLoad({
  brokers: process.env.STRATA_TEST_BROKERS ?? '127.0.0.1:9092',
  dir,
  seconds: Number(values.minutes) * 60,
  rate: Number(values.rate),
  batch: Number(values.batch),
  concurrency: Number(values.concurrency),
  pauseSeconds: Number(values.pause),
  log: (line) => console.error(line),
})
console.log(JSON.stringify(figures, null, 2))
if (values.keep) console.error(`data and logs kept in ${dir}`)
else await rm(dir, { recursive: true, force: true })
const failed =
  figures.mismatches.length > 0 ||
  figures.shutdown.exitCode !== 0 ||
  figures.requests.unknown > 1 ||
  figures.requests.unknownWritten > 0 ||
  figures.requests.other.length > 0
process.exit(failed ? 1 : 0)
