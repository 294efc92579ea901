// Ingest: POST /events in NDJSON batches (`strata start`, acks=all; `strata worker serve` has no
// ingest route, so the same process also runs the speed layer and archiver on what it ingests),
// beside Strata's Kafka producer writing the same events directly and Kafka's own
// ProducerPerformance (kafka-tools, bench/peers/kafka-tools; acks=all, idempotent, the same
// events as its payload file). In one run, alternating, several rounds, after one unmeasured
// warm-up of each; each contender writes --events events a round into a topic of its own of
// --partitions partitions, created once before the warm-up and written by every round: the state
// `strata start`'s topic is in. (Until session 18 the producer and ProducerPerformance wrote a
// topic created just before each round: the first produce to a partition whose leader was not
// ready yet was refused and retried 250 ms later, inside a window of 0.4–0.8 s, so the producer
// read 260–800 k/s by luck of that timing; BENCHMARKS.md, Ingest, session 18.) Strata's producer
// is one producer for the whole run, as the server's is.
//
// ProducerPerformance runs at its best (issue 15): one JVM for the whole run
// (bench/peers/kafka-tools WarmProducerPerformance), warmed by the warm-up round, with batching
// comparable to Strata's producer, which merges every queued send into one request of up to
// 900 KiB per partition: batch.size --java-batch (default 256 KiB; Kafka's default is 16 KiB),
// linger.ms 5 (Kafka 4's default), up to 5 requests in flight (the default with idempotence).
// Every rate carries the CPU time per event of the process that did the work (the server, this
// process for Strata's producer, the JVM), from the first request until the last answer; for
// `strata start` until its speed layer has caught up, so its fold and archive of the events count.
//
//   npm run bench:ingest -- [--events=300000] [--batch=1000] [--concurrency=16] [--rounds=3]
//     [--partitions=6] [--java=1] [--java-batch=262144] [--serve=0] [--profile=<dir>]
//     [--baseline=<checkout>[,<checkout>…]] [--bare=0] [--window-pid=<broker pid>]
//     [--producer-semi=32] [--server-semi=0]
//
// Each round of each contender starts when this bench's server processes are quiet (no more
// than 5 % of a core over 250 ms); the CPU of a `strata start` round counts until its speed layer
// has caught up and the process is quiet (its archiver's segment and the compactor's pass
// included).
//
// --partitions takes a list (`--partitions=1,6,12`: the growth table), one run per count;
// --java=0 leaves out ProducerPerformance. --serve=1 adds POST /events on `strata worker serve
// --ingest` (an ingest-only process) as a contender. --profile writes a CPU profile of the
// `strata start` process (node --cpu-prof) into <dir>; read it with `node bench/lib/cpu-profile.ts
// FILE`. --bare=1 adds a bare node:http server that answers 202 without parsing or writing
// anything (bench/lib/bare-ingest-server.ts): the most this client pushes through HTTP here, so a
// client-bound rate shows. --baseline=<checkout> adds `strata start` of another build (e.g. `git
// archive` of a commit, with node_modules linked) as a contender on a topic of its own:
// before/after in one run; a list adds one for each, named by the folder (with --serve=1 also its
// ingest-only process). With --profile each process (every thread of it: node writes one file a
// thread) profiles into a folder of its own under <dir>. --window-pid=<the broker's pid> prints,
// for each POST round, the CPU per event spent inside the window the rate is taken over (first
// request to last 202): the server by thread, the broker, this client; and the broker's for the
// producer (BENCHMARKS.md, Ingest, session 17).
import './lib/help.ts' // --help: the comment above, then exit
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdmin } from '../src/log/kafka/index.ts'
import { cpuOf, ownCpu, threadCpu, threadSplit } from './lib/cpu.ts'
import { type JvmPeer, startJvmPeer } from './lib/jvm-peer.ts'
import { brokers, eventAt } from './lib/kafka-bench.ts'
import { ndjsonPoster } from './lib/ndjson-poster.ts'
import { list, printResult, type ResultRow } from './lib/result.ts'
import { arg, fmtRate, median, spread, table } from './lib/stats.ts'
import { freePort, startStrata, waitCaughtUp } from './lib/strata-server.ts'

const events = arg('events', 300_000)
const batch = arg('batch', 1000)
// Strata's producer is given 4,000 records a call, 4 calls pending; the HTTP client by default
// keeps as many events in flight (16 requests of 1,000). With 4 requests (the default until
// 2026-12-06) POST /events was bound by the broker's round trip, not by the server: 4,000 events
// in flight against the producer's 16,000 (BENCHMARKS.md, Ingest, the byte scan).
const PRODUCER_CALL = 4000
const PRODUCER_PENDING = 4
const concurrency = arg('concurrency', Math.ceil((PRODUCER_CALL * PRODUCER_PENDING) / batch))
const rounds = arg('rounds', 3)
const partitionCounts = list('partitions', [6])
const withJava = arg('java', 1) === 1
const withServe = arg('serve', 0) === 1
const withBare = arg('bare', 0) === 1
const javaBatch = arg('java-batch', 256 * 1024)
// --producer-semi: the producer peer's --max-semi-space-size in MiB (its best, session 18).
const producerSemi = arg('producer-semi', 32)
// --server-semi=N: `strata start` and the ingest-only process (not --baseline builds) run with
// node --max-semi-space-size=N (0: node's default), to measure that lever against a baseline.
const serverSemi = arg('server-semi', 0)
const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice(10)
// --window-pid (above): the broker's process id; 0, nothing printed.
const windowPid = arg('window-pid', 0)
const baselineDirs = (process.argv.find((a) => a.startsWith('--baseline='))?.slice(11) ?? '')
  .split(',')
  .filter((d) => d !== '')
const toolsDir = join(import.meta.dirname, 'peers/kafka-tools/target')
const toolsJar = join(toolsDir, 'strata-kafka-tools-peer.jar')
const HTTP = `Strata POST /events (NDJSON × ${batch}, ${concurrency} in flight)`
const CLIENT = `Strata’s Kafka producer (${PRODUCER_CALL} × ${PRODUCER_PENDING} in flight)`
const SERVE = `Strata POST /events, ingest only (strata worker serve --ingest; NDJSON × ${batch}, ${concurrency} in flight)`
const BARE = `bare node:http server answering 202 (no parse, no Kafka: the client's limit; NDJSON × ${batch}, ${concurrency} in flight)`
const buildOf = (dir: string) => dir.replace(/\/+$/, '').split('/').at(-1)
const baselineName = (dir: string) => `${HTTP}, build ${buildOf(dir)}`
const baselineServeName = (dir: string) => `${SERVE}, build ${buildOf(dir)}`
const JAVA = `Kafka ProducerPerformance (Java, acks=all, batch.size ${javaBatch / 1024} KiB, warm JVM)`

const base = Date.now()
const lines = Array.from({ length: events }, (_, i) => eventAt(i, events, base))
const bodies: string[] = []
for (let i = 0; i < events; i += batch)
  bodies.push(
    `${lines
      .slice(i, i + batch)
      .map((e) => e.value)
      .join('\n')}\n`,
  )
// What the client sends: each body encoded once, its event count known (the client's own work
// per request is then the request itself; --bare=1 measures what it reaches at all).
const bodyBytes = bodies.map((b) => Buffer.from(b))
const bodyEvents = bodies.map((b) => b.split('\n').length - 1)

// POSTs every body, `concurrency` requests in flight; events per second until the last 202.
async function postAll(url: string, pid?: number): Promise<number> {
  const w0 = windowPid ? [await cpuOf(pid), await cpuOf(windowPid), ownCpu()] : []
  const t0 = windowPid && pid ? threadCpu(pid) : undefined
  let next = 0
  let accepted = 0
  // node:http keep-alive, not fetch: fetch's per-request machinery cost this client (on the
  // server's two cores) 0.8–1.7 µs an event, this one 0.1–0.9 (session 20, bench/lib/ndjson-poster.ts).
  const poster = ndjsonPoster(url, '/events', concurrency)
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const i = next++
        await poster.post(bodyBytes[i]!, bodyEvents[i]!)
        accepted += bodyEvents[i]!
      }
    }),
  )
  poster.close()
  if (accepted !== events) throw new Error(`accepted ${accepted} of ${events}`)
  const seconds = (performance.now() - started) / 1000
  if (windowPid) {
    const w1 = [await cpuOf(pid), await cpuOf(windowPid), ownCpu()]
    console.error(
      `  window ${(seconds * 1000).toFixed(0)} ms, CPU µs/event: server ${((w1[0]! - w0[0]!) / events).toFixed(2)}, broker ${((w1[1]! - w0[1]!) / events).toFixed(2)}, client ${((w1[2]! - w0[2]!) / events).toFixed(2)}${t0 ? `; threads: ${threadSplit(t0, threadCpu(pid), events, pid)}` : ''}`,
    )
  }
  return events / seconds
}

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-ingest-'))
const payloads = join(dir, 'events.ndjson')
await writeFile(payloads, bodies.join(''))
const resultRows: ResultRow[] = []
if (withJava && !existsSync(toolsJar))
  console.error(
    `(no ${toolsJar}: run mvn -q package in bench/peers/kafka-tools; skipping ProducerPerformance)`,
  )
const java: JvmPeer | undefined =
  withJava && existsSync(toolsJar)
    ? await startJvmPeer(['-cp', `${toolsJar}:${toolsDir}/lib/*`, 'dev.strata.bench.WarmProducerPerformance'])
    : undefined
/** The bare server of --bare=1, a child process like the Strata servers. */
async function startBare(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'lib/bare-ingest-server.ts'), String(port)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)))
  })
  return { url: `http://127.0.0.1:${port}`, child }
}
/**
 * Waits until none of `pids` uses more than 5 % of a core over 250 ms (at most 20 s): what a
 * round leaves running after its last answer — `strata start`'s niced archiver finishing its
 * segment, the speed layer's compactor pass — would otherwise run into the next contender's
 * window (session 18 measured Strata's producer at 341 k/s right after such a round, 692 k/s
 * after a quiet one).
 */
async function settle(pids: Array<number | undefined>): Promise<void> {
  const deadline = Date.now() + 20_000
  let before = await Promise.all(pids.map(cpuOf))
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    const now = await Promise.all(pids.map(cpuOf))
    if (now.every((c, i) => !(c - before[i]! > 0.05 * 250_000))) return
    before = now
  }
}
/** Events per second and µs of CPU per event. */
type Run = { rate: number; cpuUs: number }

for (const partitions of partitionCounts) {
  const httpTopic = `bench-${randomUUID()}`
  await admin.createTopic({ topic: httpTopic, partitions, replicationFactor: 1 })
  const semi = serverSemi ? [`--max-semi-space-size=${serverSemi}`] : []
  const nodeArgs = (name: string) =>
    semi.length && !name.startsWith('baseline') ? [...semi, ...profileArgs(name)] : profileArgs(name)
  const profileArgs = (name: string) =>
    profileDir
      ? // One folder a process, node's own file names (one a thread: a fixed name would let the
        // threads overwrite each other's profile).
        ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${name}-${partitions}`)}`]
      : []
  const server = await startStrata(httpTopic, partitions, {
    extra: ['--batch-interval', '1h'],
    nodeArgs: nodeArgs('start'),
  })
  const servers = [server]
  const topics = [httpTopic]
  // --serve=1: the same POST /events on `strata worker serve --ingest`, an ingest-only process
  // (no speed layer or archiver folding and archiving what it ingests), on a topic of its own.
  let ingestOnly: typeof server | undefined
  if (withServe) {
    const serveTopic = `bench-${randomUUID()}`
    await admin.createTopic({ topic: serveTopic, partitions, replicationFactor: 1 })
    topics.push(serveTopic)
    ingestOnly = await startStrata(serveTopic, partitions, {
      command: ['worker', 'serve'],
      extra: ['--ingest'],
      nodeArgs: nodeArgs('serve'),
    })
    servers.push(ingestOnly)
  }
  const baselines: Array<[name: string, server: typeof server]> = []
  const baselineServes: Array<[name: string, server: typeof server]> = []
  for (const [i, baselineDir] of baselineDirs.entries()) {
    const baseTopic = `bench-${randomUUID()}`
    await admin.createTopic({ topic: baseTopic, partitions, replicationFactor: 1 })
    topics.push(baseTopic)
    const baseline = await startStrata(baseTopic, partitions, {
      extra: ['--batch-interval', '1h'],
      bin: join(baselineDir, 'bin/strata.js'),
      nodeArgs: nodeArgs(`baseline${i + 1}`),
    })
    servers.push(baseline)
    baselines.push([baselineName(baselineDir), baseline])
    if (withServe) {
      const serveTopic = `bench-${randomUUID()}`
      await admin.createTopic({ topic: serveTopic, partitions, replicationFactor: 1 })
      topics.push(serveTopic)
      const baselineServe = await startStrata(serveTopic, partitions, {
        command: ['worker', 'serve'],
        extra: ['--ingest'],
        bin: join(baselineDir, 'bin/strata.js'),
        nodeArgs: nodeArgs(`baseline${i + 1}-serve`),
      })
      servers.push(baselineServe)
      baselineServes.push([baselineServeName(baselineDir), baselineServe])
    }
  }
  const bare = withBare ? await startBare() : undefined
  const topicOfItsOwn = async (): Promise<string> => {
    const topic = `bench-${randomUUID()}`
    await admin.createTopic({ topic, partitions, replicationFactor: 1 })
    topics.push(topic)
    return topic
  }
  // The producer's and ProducerPerformance's topics: created here, written by the warm-up and
  // every round (above: a topic created just before a round cost a 250 ms retry in some rounds).
  const producerTopic = await topicOfItsOwn()
  const javaTopic = java ? await topicOfItsOwn() : ''
  // Strata's producer in a process of its own (bench/lib/producer-peer.ts), as the servers are.
  const producer = fork(
    join(import.meta.dirname, 'lib/producer-peer.ts'),
    [String(events), String(base), String(PRODUCER_CALL), String(PRODUCER_PENDING)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its best configuration: a young generation of up to 3 × 32 MiB (V8's default semi-space
      // grows only as far as 16 MiB on this heap): ~560 → ~850–940 k/s, session 18.
      execArgv: [`--max-semi-space-size=${producerSemi}`],
    },
  )
  await new Promise<void>((resolve, reject) => {
    producer.once('message', () => resolve())
    producer.once('exit', (code) => reject(new Error(`producer peer exited (${code})`)))
  })
  const producerDone = new Promise((resolve) => producer.once('exit', resolve))

  const contenders: Record<string, () => Promise<Run>> = {
    // The rate is taken at the last 202; then the speed layer of `strata start` is let catch up,
    // so its folding of these events does not run during (and slow) the next contender; its
    // CPU counts until then.
    [HTTP]: async () => {
      const cpu0 = await cpuOf(server.child.pid)
      const rate = await postAll(server.url, server.child.pid)
      await waitCaughtUp(server.url)
      await settle([server.child.pid])
      return { rate, cpuUs: ((await cpuOf(server.child.pid)) - cpu0) / events }
    },
    [CLIENT]: async () => {
      const broker0 = windowPid ? await cpuOf(windowPid) : 0
      const answer = new Promise<Run>((resolve) => producer.once('message', resolve))
      producer.send({ topic: producerTopic })
      const { rate, cpuUs } = await answer
      if (windowPid)
        console.error(
          `  producer: broker CPU ${(((await cpuOf(windowPid)) - broker0) / events).toFixed(2)} µs/event`,
        )
      return { rate, cpuUs }
    },
  }
  for (const [name, baseline] of baselines)
    contenders[name] = async () => {
      const cpu0 = await cpuOf(baseline.child.pid)
      const rate = await postAll(baseline.url, baseline.child.pid)
      await waitCaughtUp(baseline.url)
      await settle([baseline.child.pid])
      return { rate, cpuUs: ((await cpuOf(baseline.child.pid)) - cpu0) / events }
    }
  for (const [name, baseline] of baselineServes)
    contenders[name] = async () => {
      const cpu0 = await cpuOf(baseline.child.pid)
      const rate = await postAll(baseline.url, baseline.child.pid)
      return { rate, cpuUs: ((await cpuOf(baseline.child.pid)) - cpu0) / events }
    }
  if (bare)
    contenders[BARE] = async () => {
      const cpu0 = await cpuOf(bare.child.pid)
      const rate = await postAll(bare.url)
      return { rate, cpuUs: ((await cpuOf(bare.child.pid)) - cpu0) / events }
    }
  if (ingestOnly)
    contenders[SERVE] = async () => {
      const cpu0 = await cpuOf(ingestOnly.child.pid)
      const rate = await postAll(ingestOnly.url, ingestOnly.child.pid)
      return { rate, cpuUs: ((await cpuOf(ingestOnly.child.pid)) - cpu0) / events }
    }
  if (java) {
    contenders[JAVA] = async () => {
      const topic = javaTopic
      const out = await java.run(
        [
          '--topic',
          topic,
          '--num-records',
          String(events),
          '--throughput',
          '-1',
          '--payload-file',
          payloads,
          // --payload-delimiter: its default, a newline (a line of stdin cannot carry one).
          '--producer-props',
          `bootstrap.servers=${brokers}`,
          'acks=all',
          'enable.idempotence=true',
          `batch.size=${javaBatch}`,
          'linger.ms=5',
        ].join('\t'),
        300_000,
      )
      const text = out.join('\n')
      // The summary line (the last "records sent"; the tool also prints progress every 5 s).
      const m = [...text.matchAll(/(\d+) records sent, ([\d.]+) records\/sec/g)].at(-1)
      const cpu = /"cpuMs":([\d.]+)/.exec(text)
      if (!m || !cpu) throw new Error(`no rate in ProducerPerformance output: ${text.slice(-1000)}`)
      return { rate: Number(m[2]), cpuUs: (Number(cpu[1]) * 1000) / events }
    }
  }

  const rates: Record<string, number[]> = {}
  const cpu: Record<string, number[]> = {}
  try {
    // Warm-up, not measured: JIT (Node's and the JVM's), connections, metadata.
    for (const [name, run] of Object.entries(contenders)) {
      await settle([...servers.map((s) => s.child.pid), producer.pid])
      const w = await run()
      console.error(`${partitions} partitions, warm-up: ${name}: ${fmtRate(w.rate)} (not measured)`)
    }
    for (let round = 1; round <= rounds; round++) {
      const names = Object.keys(contenders)
      if (round % 2 === 0) names.reverse()
      for (const name of names) {
        // Every contender starts with this bench's servers quiet (settle, above).
        await settle([...servers.map((s) => s.child.pid), producer.pid])
        const r = await contenders[name]!()
        rates[name] = [...(rates[name] ?? []), r.rate]
        cpu[name] = [...(cpu[name] ?? []), r.cpuUs]
        console.error(
          `${partitions} partitions, round ${round}: ${name}: ${fmtRate(r.rate)}, CPU ${r.cpuUs.toFixed(2)} µs/event`,
        )
      }
    }
  } finally {
    producer.send({})
    await producerDone
    for (const s of servers) await s.stop()
    bare?.child.kill('SIGTERM')
    for (const topic of topics) await admin.deleteTopic(topic)
  }
  const client = median(rates[CLIENT]!)
  const rows = Object.entries(rates).map(([name, r]) => [
    name,
    fmtRate(median(r)),
    `±${spread(r).toFixed(0)}%`,
    `${(median(r) / client).toFixed(2)}×`,
    median(cpu[name]!).toFixed(2),
  ])
  console.log(
    `\n${events} events of ~${Math.round(lines[0]!.value.length)} B, ${partitions} partitions, ${rounds} rounds; median and spread\n`,
  )
  console.log(table(['contender', 'events/s', 'spread', 'vs the client', 'CPU µs/event'], rows))
  const http = median(rates[HTTP]!)
  const cpuOfRow = (name: string) => `${median(cpu[name]!).toFixed(1)} µs CPU/event`
  resultRows.push({
    measure: `ingest, POST /events, ${partitions} partition${partitions === 1 ? '' : 's'}`,
    strata: `${fmtRate(http)} (${cpuOfRow(HTTP)}, fold and archive included)`,
    value: http,
    peer: 'Strata’s Kafka producer directly',
    peerFigure: `${fmtRate(client)} (${cpuOfRow(CLIENT)})`,
    peerValue: client,
    ratio: `${(http / client).toFixed(2)}×`,
    target: '≥ 0.5×',
    met: http / client >= 0.5,
    note: `spread ±${spread(rates[HTTP]!).toFixed(0)}% vs ±${spread(rates[CLIENT]!).toFixed(0)}%; rounds ${rates[HTTP]!.map(fmtRate).join(', ')} vs ${rates[CLIENT]!.map(fmtRate).join(', ')}`,
  })
  if (rates[SERVE]) {
    const serve = median(rates[SERVE])
    resultRows.push({
      measure: `ingest, POST /events on an ingest-only process (strata worker serve --ingest), ${partitions} partition${partitions === 1 ? '' : 's'}`,
      strata: `${fmtRate(serve)} (${cpuOfRow(SERVE)})`,
      value: serve,
      peer: 'Strata’s Kafka producer directly',
      peerFigure: `${fmtRate(client)} (${cpuOfRow(CLIENT)})`,
      peerValue: client,
      ratio: `${(serve / client).toFixed(2)}×`,
      target: '≥ 0.5×',
      met: serve / client >= 0.5,
      note: `spread ±${spread(rates[SERVE]).toFixed(0)}%; no speed layer or archiver in the process`,
    })
  }
  if (rates[JAVA]) {
    const javaRate = median(rates[JAVA])
    resultRows.push({
      measure: `ingest, Strata’s producer vs ProducerPerformance, ${partitions} partitions`,
      strata: `${fmtRate(client)} (${cpuOfRow(CLIENT)})`,
      value: client,
      peer: JAVA,
      peerFigure: `${fmtRate(javaRate)} (${cpuOfRow(JAVA)})`,
      peerValue: javaRate,
      ratio: `${(client / javaRate).toFixed(2)}×`,
      target: '≥ 0.9×',
      met: client / javaRate >= 0.9,
      note: `per round ${rates[JAVA].map((x, i) => `${(rates[CLIENT]![i]! / x).toFixed(2)}×`).join(', ')}`,
    })
  }
}
await java?.close()
await admin.close()
await rm(dir, { recursive: true, force: true })
printResult({
  part: 'ingest',
  rows: resultRows,
  params: { events, batch, concurrency, rounds, partitions: partitionCounts },
})
process.exit(0)
