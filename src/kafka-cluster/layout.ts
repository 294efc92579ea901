// A cluster on disk: `cluster.json` records the cluster id and the ports of every node, so that
// status, stop and a restart after a reboot all address the cluster the storage was formatted
// for (the voter set and cluster id are baked into each node's metadata log).
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import {
  type ClusterLayout,
  type ClusterSize,
  defaultMembers,
  log4jFileName,
  type NodeSpec,
  newClusterId,
  renderProperties,
  type ServerOverrides,
  serverConfig,
} from './config.ts'
import { log4j2Properties } from './log4j.ts'
import { nodePaths } from './paths.ts'

const LAYOUT_FILE = 'cluster.json'

export type OverridesOption = ServerOverrides | ((node: NodeSpec) => ServerOverrides)

/** The layout recorded in `folder`, if any. */
export async function readLayout(folder: string): Promise<ClusterLayout | undefined> {
  try {
    return JSON.parse(await readFile(join(folder, LAYOUT_FILE), 'utf8')) as ClusterLayout
  } catch {
    return undefined
  }
}

/** The recorded layout, or the default one for `nodes` (not yet written) when there is none. */
export async function layoutOrDefault(folder: string, nodes: ClusterSize): Promise<ClusterLayout> {
  return (await readLayout(folder)) ?? { nodes, clusterId: '', members: defaultMembers(nodes) }
}

/**
 * The recorded layout, or a new one (new cluster id) written to `folder`. Asking for other
 * ports than the recorded ones is refused: the storage was formatted for the recorded voters.
 */
export async function ensureLayout(
  folder: string,
  nodes: ClusterSize,
  members?: NodeSpec[],
): Promise<ClusterLayout> {
  const recorded = await readLayout(folder)
  if (recorded) {
    if (members && JSON.stringify(members) !== JSON.stringify(recorded.members)) {
      throw new StrataError(
        ErrorCodes.CLUSTER,
        `${folder} was formatted for other ports; start it with fresh: true (--fresh) to re-create it`,
      )
    }
    return recorded
  }
  const layout: ClusterLayout = {
    nodes,
    clusterId: newClusterId(),
    members: members ?? defaultMembers(nodes),
  }
  if (layout.members.length !== nodes) {
    throw new StrataError(ErrorCodes.INVALID_ARGUMENT, `a ${nodes}-node cluster needs ${nodes} members`)
  }
  await mkdir(folder, { recursive: true })
  await writeFile(join(folder, LAYOUT_FILE), `${JSON.stringify(layout, null, 2)}\n`)
  return layout
}

/** (Re)writes log4j2.properties and every node's server.properties; creates the node folders. */
export async function writeNodeConfigs(folder: string, layout: ClusterLayout, overrides?: OverridesOption) {
  await writeFile(join(folder, log4jFileName), log4j2Properties())
  for (const member of layout.members) {
    const paths = nodePaths(folder, member.id)
    await mkdir(paths.logsDir, { recursive: true })
    await mkdir(paths.dataDir, { recursive: true })
    const extra = typeof overrides === 'function' ? overrides(member) : overrides
    const config = serverConfig(layout, member.id, paths.dataDir, extra)
    const header = `Written by strata kafka start (src/kafka-cluster/config.ts); regenerated on every start.\nNode ${member.id} of the ${layout.nodes}-node cluster ${layout.clusterId}.`
    await writeFile(paths.serverProperties, renderProperties(config, header))
  }
}

/** Whether StorageTool has formatted the node (it writes meta.properties into each log dir). */
export function isFormatted(folder: string, nodeId: number): boolean {
  return existsSync(join(nodePaths(folder, nodeId).dataDir, 'meta.properties'))
}
