// A Java peer that stays up for the whole benchmark and takes one run per line of stdin
// (bench/peers/kafka-streams PageviewsByUrl, bench/peers/kafka-tools WarmProducerPerformance),
// so a warm-up run can go first and the measured rounds run on a warmed JIT, as a JVM service
// runs in production (issue 15: a cold JVM per round understated the Java peers).
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface JvmPeer {
  /** Sends one line; resolves with every stdout line up to and including the first JSON line. */
  run(line: string, timeoutMs: number): Promise<string[]>
  pid: number | undefined
  close(): Promise<void>
}

export async function startJvmPeer(args: string[]): Promise<JvmPeer> {
  const child: ChildProcess = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-4000)
  })
  const lines = createInterface({ input: child.stdout! })
  let waiting: ((line: string) => void) | undefined
  const buffered: string[] = []
  lines.on('line', (line) => {
    if (waiting) waiting(line)
    else buffered.push(line)
  })
  let exited = false
  child.once('exit', () => {
    exited = true
    waiting?.('')
  })
  const next = (timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      if (buffered.length > 0) return resolve(buffered.shift()!)
      if (exited) return reject(new Error(`java ${args.at(-1)} exited: ${err}`))
      const timer = setTimeout(() => {
        waiting = undefined
        reject(new Error(`java ${args.at(-1)}: no answer in ${timeoutMs} ms: ${err}`))
      }, timeoutMs)
      waiting = (line) => {
        clearTimeout(timer)
        waiting = undefined
        if (exited && line === '') reject(new Error(`java ${args.at(-1)} exited: ${err}`))
        else resolve(line)
      }
    })
  const untilJson = async (timeoutMs: number): Promise<string[]> => {
    const out: string[] = []
    for (;;) {
      const line = await next(timeoutMs)
      out.push(line)
      if (line.startsWith('{')) return out
    }
  }
  await untilJson(60_000) // {"ready":true}
  return {
    pid: child.pid,
    run(line, timeoutMs) {
      child.stdin!.write(`${line}\n`)
      return untilJson(timeoutMs)
    },
    async close() {
      if (exited) return
      const done = new Promise((resolve) => child.once('exit', resolve))
      child.stdin!.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await done
      clearTimeout(timer)
    },
  }
}
