// Query latency under load: GET /views/pageviews_by_url/:key over many keys with wrk (Debian),
// beside a Redis GET of the same answers, precomputed, with redis-benchmark, in one run,
// alternating, several rounds.
//
// Method: neither Debian tool paces requests (wrk2 is not packaged; autocannon is on npm), so
// both run closed-loop at the same concurrency — C connections, each sending its next request
// when the previous answer arrives — for the same length of time. At concurrency 1 the latency is
// the service time alone; at higher concurrency it includes queueing at the server, and the
// throughput is each server's limit on this machine. Keys are drawn uniformly at random from
// every url the view holds; Redis holds, for each of those keys, the exact JSON body Strata
// answered for it.
//
//   npm run bench:query -- [--events=200000] [--urls=10000] [--seconds=10] [--rounds=3]
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdmin } from '../src/log/kafka/index.ts'
import { brokers, preloadTopic } from './lib/kafka-bench.ts'
import { arg, median, spread, table } from './lib/stats.ts'
import { startStrata, waitCaughtUp } from './lib/strata-server.ts'

const events = arg('events', 200_000)
const urls = arg('urls', 10_000)
const seconds = arg('seconds', 10)
const rounds = arg('rounds', 3)
const concurrencies = [1, 16]
const partitions = 6

function run(command: string, args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${command} exited ${code}: ${out.slice(-2000)}`))
    })
    child.stdin.end(input)
  })
}

interface Sample {
  rps: number
  p50: number
  p99: number
}

/** wrk's "--latency" distribution in ms. */
function wrkMs(text: string, pct: string): number {
  const m = text.match(new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm'))
  if (!m) throw new Error(`no ${pct}% in wrk output: ${text}`)
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!
}

const resp = (...parts: string[]) =>
  `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`

const admin = createAdmin({ brokers })
console.error(`preloading ${events} events over ${urls} urls…`)
const { topic } = await preloadTopic(admin, events, partitions, urls)
const server = await startStrata(topic, partitions, ['--batch-interval', '1h'])
const prefix = `bench:${randomUUID()}:`
const script = join(tmpdir(), `strata-bench-query-${randomUUID()}.lua`)
try {
  await waitCaughtUp(server.url)
  // Redis gets Strata's own answer for every key, under redis-benchmark's key numbering.
  let sets = ''
  let bodyBytes = 0
  for (let i = 0; i < urls; i++) {
    const body = await (
      await fetch(`${server.url}/views/pageviews_by_url/${encodeURIComponent(`/p/${i}`)}`)
    ).text()
    bodyBytes += body.length
    sets += resp('SET', `${prefix}${String(i).padStart(12, '0')}`, body)
  }
  await run('redis-cli', ['-h', '127.0.0.1', '--pipe'], Buffer.from(sets))
  await writeFile(
    script,
    `math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/views/pageviews_by_url/%2Fp%2F" .. math.random(0, ${urls - 1}))
end
`,
  )
  console.error(`answers of ${Math.round(bodyBytes / urls)} B on average`)

  const contenders: Record<string, (c: number) => Promise<Sample>> = {
    'Strata GET /views/:view/:key (wrk)': async (c) => {
      const out = await run('wrk', ['-t1', `-c${c}`, `-d${seconds}s`, '--latency', '-s', script, server.url])
      if (/Non-2xx/.test(out)) throw new Error(`errors in wrk run: ${out}`)
      return {
        rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)![1]),
        p50: wrkMs(out, '50'),
        p99: wrkMs(out, '99'),
      }
    },
    'Redis GET (redis-benchmark)': async (c) => {
      // -n sized so the run lasts about as long as wrk's (Redis answers ~10x more per second).
      const out = await run('redis-benchmark', [
        '-h',
        '127.0.0.1',
        '-c',
        String(c),
        '-n',
        String(c === 1 ? 150_000 : 600_000),
        '-r',
        String(urls),
        '--csv',
        'GET',
        `${prefix}__rand_int__`,
      ])
      const row = out
        .trim()
        .split('\n')
        .at(-1)!
        .split(',')
        .map((x) => x.replaceAll('"', ''))
      return { rps: Number(row[1]), p50: Number(row[4]), p99: Number(row[6]) }
    },
  }
  const samples: Record<string, Sample[]> = {}
  for (let round = 1; round <= rounds; round++) {
    for (const c of concurrencies) {
      const names = Object.keys(contenders)
      if (round % 2 === 0) names.reverse()
      for (const name of names) {
        const s = await contenders[name]!(c)
        const key = `${name}|${c}`
        samples[key] = [...(samples[key] ?? []), s]
        console.error(
          `round ${round} c=${c} ${name}: ${Math.round(s.rps)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms`,
        )
      }
    }
  }
  const rows = []
  for (const c of concurrencies) {
    const redis = samples[`Redis GET (redis-benchmark)|${c}`]!
    for (const name of Object.keys(contenders)) {
      const s = samples[`${name}|${c}`]!
      const p99 = s.map((x) => x.p99)
      rows.push([
        name,
        c,
        Math.round(median(s.map((x) => x.rps))),
        median(s.map((x) => x.p50)).toFixed(3),
        `${median(p99).toFixed(3)} (±${spread(p99).toFixed(0)}%)`,
        `${(median(p99) / median(redis.map((x) => x.p99))).toFixed(2)}×`,
      ])
    }
  }
  console.log(
    `\n${urls} keys, ${seconds} s per run, ${rounds} rounds; medians, p99 spread (max−min)/median\n`,
  )
  console.log(table(['contender', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'p99 vs Redis'], rows))
} finally {
  let dels = ''
  for (let i = 0; i < urls; i++) dels += resp('DEL', `${prefix}${String(i).padStart(12, '0')}`)
  await run('redis-cli', ['-h', '127.0.0.1', '--pipe'], Buffer.from(dels)).catch(() => {})
  await server.stop()
  await admin.deleteTopic(topic)
  await admin.close()
}
process.exit(0)
