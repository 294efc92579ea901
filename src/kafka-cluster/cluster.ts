// Start, status and stop of the local cluster (`strata kafka start|status|stop`).
// start is idempotent: nodes that already run are left alone, the others are (formatted if
// new and) started, and it returns once a metadata request lists every broker of the layout.
import { existsSync } from 'node:fs'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { bootstrapOf, type ClusterLayout, type ClusterSize, log4jFileName, type NodeSpec } from './config.ts'
import { ensureKafkaJars } from './jars.ts'
import { launchNodes, waitForBrokers } from './launch.ts'
import { ensureLayout, layoutOrDefault, type OverridesOption, writeNodeConfigs } from './layout.ts'
import { withClusterLock } from './lock.ts'
import { clusterDir, nodePaths, stateHome } from './paths.ts'
import { forgetPid, type JvmOptions, runningPid, signalAndWait } from './process.ts'
import { type ClusterAnswer, probeCluster } from './readiness.ts'

export interface NodeInfo {
  id: number
  /** host:port of the PLAINTEXT listener. */
  listener: string
  controller: string
  /** The recorded pid while it is our running broker. */
  pid: number | undefined
  alive: boolean
  dataDir: string
  logFile: string
  stdoutLog: string
}

export interface ClusterOptions {
  nodes: ClusterSize
  /** State folder (default env STRATA_HOME or `<root>/.strata`). */
  home?: string
  /** Jar folder (default `<home>/kafka/lib`); tests on a scratch home share the main one. */
  libDir?: string
  fresh?: boolean
  log?: (line: string) => void
  /** Other ports than the default layout (recorded at first start). */
  members?: NodeSpec[]
  /** Extra or changed server properties (e.g. another listener). */
  overrides?: OverridesOption
  /** -Xmx per broker (default 1g for one node, 512m each for three). */
  heap?: string
  /** How long to wait for every broker to register (default 120 s). */
  timeoutMs?: number
  /** SCRAM users written at format time (`SCRAM-SHA-512=[name=u,password=p]`; new storage only). */
  scram?: readonly string[]
}

export interface StartedCluster {
  bootstrap: string
  brokers: string[]
  clusterId: string
  nodes: NodeInfo[]
  /** True when every node was running already and nothing was started. */
  alreadyRunning: boolean
}

export interface ClusterStatus {
  nodes: ClusterSize
  folder: string
  clusterId: string | undefined
  bootstrap: string
  members: NodeInfo[]
  /** The cluster's answer to a metadata request, undefined when no broker answered. */
  answer: ClusterAnswer | undefined
  /** True when the cluster answers with every broker of the layout registered. */
  answering: boolean
}

const LOCK_TIMEOUT_MS = 180_000
const STOP_GRACE_MS = 30_000

export async function nodeInfo(folder: string, member: NodeSpec): Promise<NodeInfo> {
  const paths = nodePaths(folder, member.id)
  const pid = await runningPid(paths)
  return {
    id: member.id,
    listener: `${member.host}:${member.clientPort}`,
    controller: `${member.host}:${member.controllerPort}`,
    pid,
    alive: pid !== undefined,
    dataDir: paths.dataDir,
    logFile: paths.serverLog,
    stdoutLog: paths.stdoutLog,
  }
}

export async function startCluster(options: ClusterOptions): Promise<StartedCluster> {
  const home = options.home ?? stateHome()
  const folder = clusterDir(options.nodes, home)
  const log = options.log ?? (() => {})
  return withClusterLock(folder, LOCK_TIMEOUT_MS, async () => {
    if (options.fresh) {
      await stopNodes(folder, (await layoutOrDefault(folder, options.nodes)).members, log)
      await wipeCluster(folder)
    }
    const layout = await ensureLayout(folder, options.nodes, options.members)
    const down = []
    for (const member of layout.members) if (!(await nodeInfo(folder, member)).alive) down.push(member)
    if (down.length === 0 && (await waitForBrokers(layout, folder, [], 10_000).catch(() => false))) {
      return started(folder, layout, true)
    }
    const { libDir } = await ensureKafkaJars({ home, libDir: options.libDir, log })
    await writeNodeConfigs(folder, layout, options.overrides)
    const jvm: JvmOptions = {
      libDir,
      log4jFile: join(folder, log4jFileName),
      heap: options.heap ?? (layout.nodes === 1 ? '1g' : '512m'),
    }
    await launchNodes(folder, layout, down, jvm, log, options.scram)
    log(`waiting for ${layout.nodes === 1 ? 'the broker' : `all ${layout.nodes} brokers`} to register`)
    await waitForBrokers(layout, folder, down, options.timeoutMs ?? 120_000)
    return started(folder, layout, false)
  })
}

async function started(
  folder: string,
  layout: ClusterLayout,
  alreadyRunning: boolean,
): Promise<StartedCluster> {
  const brokers = bootstrapOf(layout)
  const nodes = await Promise.all(layout.members.map((member) => nodeInfo(folder, member)))
  return { bootstrap: brokers.join(','), brokers, clusterId: layout.clusterId, nodes, alreadyRunning }
}

export async function clusterStatus(options: { nodes: ClusterSize; home?: string }): Promise<ClusterStatus> {
  const folder = clusterDir(options.nodes, options.home ?? stateHome())
  const layout = await layoutOrDefault(folder, options.nodes)
  const members = await Promise.all(layout.members.map((member) => nodeInfo(folder, member)))
  const bootstrap = bootstrapOf(layout)
  // Only ask when one of ours runs: the ports may belong to something else.
  const answer = members.some((m) => m.alive) ? await probeCluster(bootstrap, 3000) : undefined
  const answering = answer !== undefined && layout.members.every((m) => answer.brokers.includes(m.id))
  return {
    nodes: options.nodes,
    folder,
    clusterId: layout.clusterId || undefined,
    bootstrap: bootstrap.join(','),
    members,
    answer,
    answering,
  }
}

/**
 * Stops the cluster of `nodes` nodes, or every cluster that has pids recorded. SIGTERM to the
 * recorded pids only (a controlled shutdown), SIGKILL after a grace period. Returns what it stopped.
 */
export async function stopCluster(
  options: { nodes?: ClusterSize; home?: string; log?: (line: string) => void } = {},
): Promise<NodeInfo[]> {
  const home = options.home ?? stateHome()
  const log = options.log ?? (() => {})
  const stopped: NodeInfo[] = []
  for (const nodes of options.nodes ? [options.nodes] : ([1, 3] as const)) {
    const folder = clusterDir(nodes, home)
    if (!existsSync(folder)) continue
    const layout = await layoutOrDefault(folder, nodes)
    stopped.push(
      ...(await withClusterLock(folder, LOCK_TIMEOUT_MS, () => stopNodes(folder, layout.members, log))),
    )
  }
  return stopped
}

// All nodes at once: stopped one by one, the last brokers of a KRaft cluster wait for a
// controller quorum that is already gone.
async function stopNodes(
  folder: string,
  members: NodeSpec[],
  log: (line: string) => void,
): Promise<NodeInfo[]> {
  const running = (await Promise.all(members.map((member) => nodeInfo(folder, member)))).filter(
    (n) => n.alive,
  )
  await Promise.all(
    running.map(async (node) => {
      const paths = nodePaths(folder, node.id)
      log(`stopping node ${node.id} (pid ${node.pid})`)
      if (!(await signalAndWait(node.pid!, paths, 'SIGTERM', STOP_GRACE_MS))) {
        log(`node ${node.id} did not stop within ${STOP_GRACE_MS / 1000} s: SIGKILL`)
        if (!(await signalAndWait(node.pid!, paths, 'SIGKILL', 10_000))) {
          throw new StrataError(ErrorCodes.CLUSTER, `node ${node.id} (pid ${node.pid}) survived SIGKILL`)
        }
      }
    }),
  )
  // Pid files of nodes that are gone (crashed, or killed by a fault test) go too.
  for (const member of members) await forgetPid(nodePaths(folder, member.id))
  return running
}

async function wipeCluster(folder: string): Promise<void> {
  // Keep the lock file; everything else belongs to the old cluster.
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    if (name !== 'lock') await rm(join(folder, name), { recursive: true, force: true })
  }
}
