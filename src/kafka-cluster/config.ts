// The configuration of the local KRaft cluster: its layout (node ids and ports) and the files
// every node starts from. Pure functions, so the unit tests read exactly what the brokers get.
//
// Layouts (docs/architecture.md, "The parts"):
//   1 node : broker+controller on 127.0.0.1:9092, controller listener :9093
//   3 nodes: node N on 127.0.0.1:N9092, controller :N9093 (N = 1, 2, 3), replication factor 3,
//            min.insync.replicas=2 and no unclean leader election (acks=all then survives the
//            loss of any one node without losing an acknowledged write).
// Every node is broker and controller, with a fixed voter set (`controller.quorum.voters`), so
// storage is formatted with a plain `StorageTool format` and one cluster id on every node.
import { randomBytes } from 'node:crypto'

export type ClusterSize = 1 | 3

export interface NodeSpec {
  id: number
  host: string
  /** The PLAINTEXT listener clients and the other brokers use. */
  clientPort: number
  /** The CONTROLLER listener of the KRaft quorum. */
  controllerPort: number
}

export interface ClusterLayout {
  nodes: ClusterSize
  clusterId: string
  members: NodeSpec[]
}

/** Config values, by property name; later sources win. */
export type ServerOverrides = Record<string, string | number | boolean>

export const LOOPBACK = '127.0.0.1'

export function isClusterSize(value: unknown): value is ClusterSize {
  return value === 1 || value === 3
}

/** The ports of each node of the default layout for `nodes`. */
export function defaultMembers(nodes: ClusterSize): NodeSpec[] {
  if (nodes === 1) return [{ id: 1, host: LOOPBACK, clientPort: 9092, controllerPort: 9093 }]
  return [1, 2, 3].map((id) => ({
    id,
    host: LOOPBACK,
    clientPort: id * 10000 + 9092,
    controllerPort: id * 10000 + 9093,
  }))
}

/**
 * A Kafka cluster id: 16 random bytes in URL-safe base64 without padding (22 characters), as
 * `kafka-storage random-uuid` prints. Like Kafka's Uuid.randomUuid, ids starting with '-' are
 * redrawn: they would read as a flag on a command line.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

export function bootstrapOf(layout: Pick<ClusterLayout, 'members'>): string[] {
  return layout.members.map((node) => `${node.host}:${node.clientPort}`)
}

/**
 * The properties of one node. `overrides` come last and win: that is where a later listener
 * (SASL/SCRAM over TLS, say) goes — `listeners`, `advertised.listeners`,
 * `listener.security.protocol.map` and its `listener.name.*` settings.
 */
export function serverConfig(
  layout: ClusterLayout,
  nodeId: number,
  dataDir: string,
  overrides: ServerOverrides = {},
): ServerOverrides {
  const node = layout.members.find((member) => member.id === nodeId)
  if (!node) throw new Error(`node ${nodeId} is not in the ${layout.nodes}-node layout`)
  const replicas = layout.nodes
  const minIsr = replicas >= 3 ? 2 : 1
  const voters = layout.members.map((m) => `${m.id}@${m.host}:${m.controllerPort}`).join(',')
  return {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://${node.host}:${node.clientPort},CONTROLLER://${node.host}:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${node.host}:${node.clientPort}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    // Durability: acks=all needs min.insync.replicas of the replicas, and only an in-sync replica
    // may become leader (the Jepsen recipe).
    'default.replication.factor': replicas,
    'min.insync.replicas': minIsr,
    'unclean.leader.election.enable': false,
    'offsets.topic.replication.factor': replicas,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    // The defaults (50 partitions each) make the first group or transaction of a test slow.
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.num.partitions': 3,
    'group.initial.rebalance.delay.ms': 0,
    // Notice a killed broker in ~6 s rather than 9 (fault tests); not lower: two shared cores can
    // stall a JVM long enough to fence a healthy broker.
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 6000,
    ...overrides,
  }
}

/** Java properties text, keys in the order given. */
export function renderProperties(config: ServerOverrides, header?: string): string {
  const lines = header ? header.split('\n').map((line) => `# ${line}`) : []
  for (const [key, value] of Object.entries(config)) lines.push(`${key}=${escapeValue(String(value))}`)
  return `${lines.join('\n')}\n`
}

function escapeValue(value: string): string {
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\n', '\\n')
    .replace(/^\s/, (space) => `\\${space}`)
}

/** Parses what renderProperties writes (simple `key=value` lines, `#` comments). */
export function parseProperties(text: string): Map<string, string> {
  const config = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq < 0) continue
    config.set(
      line.slice(0, eq).trim(),
      line.slice(eq + 1).replace(/\\(.)/g, (_, ch) => (ch === 'n' ? '\n' : ch)),
    )
  }
  return config
}

/** The log4j2 file every node of a cluster reads, in the cluster folder. */
export const log4jFileName = 'log4j2.properties'
