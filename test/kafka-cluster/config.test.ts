import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type ClusterLayout,
  defaultMembers,
  newClusterId,
  parseProperties,
  renderProperties,
  serverConfig,
} from '../../src/kafka-cluster/config.ts'
import { log4j2Properties } from '../../src/kafka-cluster/log4j.ts'

const one: ClusterLayout = { nodes: 1, clusterId: 'AAAAAAAAAAAAAAAAAAAAAA', members: defaultMembers(1) }
const three: ClusterLayout = { nodes: 3, clusterId: 'AAAAAAAAAAAAAAAAAAAAAA', members: defaultMembers(3) }

/** What the broker reads: the rendered file parsed back. */
function brokerSees(layout: ClusterLayout, nodeId: number, overrides = {}): Map<string, string> {
  return parseProperties(renderProperties(serverConfig(layout, nodeId, '/data/node', overrides), 'a\nheader'))
}

test('the 1-node layout is one broker+controller on 9092 with controller 9093', () => {
  assert.deepEqual(defaultMembers(1), [{ id: 1, host: '127.0.0.1', clientPort: 9092, controllerPort: 9093 }])
  const config = brokerSees(one, 1)
  assert.equal(config.get('process.roles'), 'broker,controller')
  assert.equal(config.get('node.id'), '1')
  assert.equal(config.get('controller.quorum.voters'), '1@127.0.0.1:9093')
  assert.equal(config.get('listeners'), 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093')
  assert.equal(config.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:9092')
  assert.equal(config.get('controller.listener.names'), 'CONTROLLER')
  assert.equal(config.get('log.dirs'), '/data/node')
  // One replica cannot satisfy more than one in-sync replica.
  for (const key of [
    'default.replication.factor',
    'offsets.topic.replication.factor',
    'min.insync.replicas',
  ]) {
    assert.equal(config.get(key), '1', key)
  }
  assert.equal(config.get('transaction.state.log.min.isr'), '1')
})

test('the 3-node layout replicates 3 ways, needs 2 in sync and never elects an unclean leader', () => {
  assert.deepEqual(
    defaultMembers(3).map((m) => [m.id, m.clientPort, m.controllerPort]),
    [
      [1, 19092, 19093],
      [2, 29092, 29093],
      [3, 39092, 39093],
    ],
  )
  const config = brokerSees(three, 2)
  assert.equal(config.get('node.id'), '2')
  assert.equal(
    config.get('controller.quorum.voters'),
    '1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:39093',
  )
  assert.equal(config.get('listeners'), 'PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093')
  assert.equal(config.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:29092')
  assert.equal(config.get('default.replication.factor'), '3')
  assert.equal(config.get('min.insync.replicas'), '2')
  assert.equal(config.get('unclean.leader.election.enable'), 'false')
  for (const topic of ['offsets.topic', 'transaction.state.log', 'share.coordinator.state.topic']) {
    assert.equal(config.get(`${topic}.replication.factor`), '3', topic)
    assert.equal(config.get(`${topic}.num.partitions`), '3', topic)
  }
  assert.equal(config.get('transaction.state.log.min.isr'), '2')
  assert.equal(config.get('group.initial.rebalance.delay.ms'), '0')
})

test('overrides win and can add a listener', () => {
  const config = brokerSees(one, 1, {
    listeners: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:9094',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
  })
  assert.equal(config.get('listeners')?.endsWith(',SASL_SSL://127.0.0.1:9094'), true)
  assert.equal(
    config.get('listener.security.protocol.map'),
    'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
  )
  assert.equal(config.get('sasl.enabled.mechanisms'), 'SCRAM-SHA-512')
  assert.equal(config.get('node.id'), '1')
})

test('a node id outside the layout is refused', () => {
  assert.throws(() => serverConfig(one, 2, '/data'), /node 2 is not in the 1-node layout/)
})

test('property values with backslashes and newlines survive rendering', () => {
  const text = renderProperties({ 'log.dirs': 'C:\\kafka\\data', note: 'two\nlines', lead: ' space' })
  assert.equal(text.split('\n').filter(Boolean).length, 3)
  const config = parseProperties(text)
  assert.equal(config.get('log.dirs'), 'C:\\kafka\\data')
  assert.equal(config.get('note'), 'two\nlines')
  assert.equal(config.get('lead'), ' space')
})

test('cluster ids look like kafka-storage random-uuid output', () => {
  const ids = new Set(Array.from({ length: 200 }, () => newClusterId()))
  assert.equal(ids.size, 200)
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/)
    assert.equal(Buffer.from(id, 'base64url').length, 16)
  }
})

test('log4j2 writes each node to its kafka.logs.dir', () => {
  const text = log4j2Properties()
  assert.match(text, /^property\.logs = \$\{sys:kafka\.logs\.dir\}$/m)
  assert.match(text, /^appender\.server\.fileName = \$\{logs\}\/server\.log$/m)
  assert.match(text, /^rootLogger\.appenderRef\.server\.ref = server$/m)
  assert.match(text, /^logger\.l\d+\.name = state\.change\.logger$/m)
})
