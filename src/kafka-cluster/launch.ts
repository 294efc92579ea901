// Bringing nodes up: format the storage of new nodes, spawn the broker JVMs, then wait for
// the readiness signal (readiness.ts) while watching that the JVMs just started stay alive, so
// a broker that dies at start (a busy port, a bad config) fails fast with its log's last lines.
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { bootstrapOf, type ClusterLayout, type NodeSpec } from './config.ts'
import { isFormatted } from './layout.ts'
import { nodePaths } from './paths.ts'
import { forgetPid, formatStorage, isPortFree, type JvmOptions, runningPid, spawnBroker } from './process.ts'
import { type ClusterAnswer, probeCluster } from './readiness.ts'

/** Formats (when new) and spawns the given nodes; refuses ports some other process holds. */
export async function launchNodes(
  folder: string,
  layout: ClusterLayout,
  members: NodeSpec[],
  jvm: JvmOptions,
  log: (line: string) => void,
  scram: readonly string[] = [],
): Promise<void> {
  for (const member of members) {
    for (const port of [member.clientPort, member.controllerPort]) {
      if (!(await portFreeSoon(member.host, port))) {
        throw new StrataError(
          ErrorCodes.CLUSTER,
          `${member.host}:${port} is in use by a process that is not node ${member.id} of ${folder}`,
        )
      }
    }
  }
  const unformatted = members.filter((member) => !isFormatted(folder, member.id))
  if (unformatted.length > 0) log(`formatting storage of node(s) ${unformatted.map((m) => m.id).join(', ')}`)
  await Promise.all(
    unformatted.map((member) => formatStorage(jvm, nodePaths(folder, member.id), layout.clusterId, scram)),
  )
  for (const member of members) {
    const pid = await spawnBroker(jvm, nodePaths(folder, member.id))
    log(`node ${member.id}: pid ${pid}, ${member.host}:${member.clientPort}`)
  }
}

// 39092 and 39093 lie in Linux's ephemeral range (32768-60999): a client connection elsewhere on
// the machine may hold one as its local port for a moment. Such a port frees when the connection
// closes, so wait a little before calling it taken.
async function portFreeSoon(host: string, port: number, waitMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + waitMs
  for (;;) {
    if (await isPortFree(host, port)) return true
    if (Date.now() >= deadline) return false
    await sleep(250)
  }
}

/**
 * Polls metadata until every broker of the layout is registered. Fails early when one of the
 * nodes just started has exited, naming its logs; `timeoutMs` 0 probes once.
 */
export async function waitForBrokers(
  layout: ClusterLayout,
  folder: string,
  startedNodes: NodeSpec[],
  timeoutMs: number,
): Promise<true> {
  const deadline = Date.now() + timeoutMs
  const expected = layout.members.map((member) => member.id)
  let answer: ClusterAnswer | undefined
  for (;;) {
    answer = await probeCluster(bootstrapOf(layout), 2000)
    if (answer && expected.every((id) => answer!.brokers.includes(id))) return true
    for (const member of startedNodes) {
      const paths = nodePaths(folder, member.id)
      if ((await runningPid(paths)) === undefined) {
        await forgetPid(paths)
        throw new StrataError(
          ErrorCodes.CLUSTER,
          `Kafka node ${member.id} exited during start; see ${paths.serverLog} and ${paths.stdoutLog}` +
            (await tail(paths.stdoutLog)),
        )
      }
    }
    if (Date.now() >= deadline) break
    await sleep(500)
  }
  const seen = answer ? `brokers [${answer.brokers.join(', ')}] registered` : 'no broker answered'
  throw new StrataError(
    ErrorCodes.KAFKA_UNAVAILABLE,
    `Kafka cluster at ${bootstrapOf(layout).join(',')} not ready after ${Math.round(timeoutMs / 1000)} s ` +
      `(${seen}); see ${layout.members.map((m) => nodePaths(folder, m.id).serverLog).join(', ')}`,
    { retriable: true },
  )
}

async function tail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const last = text.trimEnd().split('\n').slice(-lines).join('\n')
  return last ? `\n--- last lines of ${file} ---\n${last}` : ''
}
