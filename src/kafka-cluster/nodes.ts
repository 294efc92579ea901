// One node at a time, for fault tests: kill -9 the leader of a partition, keep producing, bring
// it back and check nothing acknowledged was lost.
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { type NodeInfo, nodeInfo } from './cluster.ts'
import type { ClusterSize } from './config.ts'
import { ensureKafkaJars } from './jars.ts'
import { launchNodes, waitForBrokers } from './launch.ts'
import { readLayout } from './layout.ts'
import { withClusterLock } from './lock.ts'
import { clusterDir, nodePaths, stateHome } from './paths.ts'
import { forgetPid, runningPid, signalAndWait } from './process.ts'

export interface NodeOptions {
  home?: string
  libDir?: string
  heap?: string
  timeoutMs?: number
  log?: (line: string) => void
}

async function memberOf(nodes: ClusterSize, nodeId: number, home: string) {
  const folder = clusterDir(nodes, home)
  const layout = await readLayout(folder)
  const member = layout?.members.find((m) => m.id === nodeId)
  if (!layout || !member) {
    throw new StrataError(ErrorCodes.CLUSTER, `the ${nodes}-node cluster in ${folder} has no node ${nodeId}`)
  }
  return { folder, layout, member }
}

/**
 * Sends `signal` (default SIGKILL) to the node's broker and waits for it to exit. Returns the
 * pid it signalled. The pid file is removed once the process is gone.
 */
export async function killNode(
  nodes: ClusterSize,
  nodeId: number,
  signal: NodeJS.Signals = 'SIGKILL',
  options: NodeOptions = {},
): Promise<number> {
  const { folder } = await memberOf(nodes, nodeId, options.home ?? stateHome())
  const paths = nodePaths(folder, nodeId)
  const pid = await runningPid(paths)
  if (pid === undefined)
    throw new StrataError(ErrorCodes.CLUSTER, `node ${nodeId} of ${folder} is not running`)
  if (!(await signalAndWait(pid, paths, signal, 60_000))) {
    throw new StrataError(ErrorCodes.CLUSTER, `node ${nodeId} (pid ${pid}) did not exit after ${signal}`)
  }
  await forgetPid(paths)
  return pid
}

/**
 * Starts the node again (stopping it first with SIGTERM if it still runs) and waits until every
 * broker of the cluster is registered again.
 */
export async function restartNode(
  nodes: ClusterSize,
  nodeId: number,
  options: NodeOptions = {},
): Promise<NodeInfo> {
  const home = options.home ?? stateHome()
  const { folder, layout, member } = await memberOf(nodes, nodeId, home)
  const paths = nodePaths(folder, nodeId)
  return withClusterLock(folder, 180_000, async () => {
    const pid = await runningPid(paths)
    if (pid !== undefined && !(await signalAndWait(pid, paths, 'SIGTERM', 30_000))) {
      await signalAndWait(pid, paths, 'SIGKILL', 10_000)
    }
    await forgetPid(paths)
    const { libDir } = await ensureKafkaJars({ home, libDir: options.libDir })
    const jvm = {
      libDir,
      log4jFile: join(folder, 'log4j2.properties'),
      heap: options.heap ?? (nodes === 1 ? '1g' : '512m'),
    }
    await launchNodes(folder, layout, [member], jvm, options.log ?? (() => {}))
    await waitForBrokers(layout, folder, [member], options.timeoutMs ?? 120_000)
    return nodeInfo(folder, member)
  })
}
