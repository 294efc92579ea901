import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultMembers, type NodeSpec } from '../../src/kafka-cluster/config.ts'
import { saslSslOverrides, scramUser } from '../../src/kafka-cluster/secure-listener.ts'

test('the SASL_SSL listener is added beside PLAINTEXT and CONTROLLER, with SCRAM-SHA-512 and a PEM keystore', () => {
  const node = defaultMembers(1)[0] as NodeSpec
  const config = saslSslOverrides(node, 9294, '/tmp/keystore.pem')
  assert.equal(
    config.listeners,
    'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SASL_SSL://127.0.0.1:9294',
  )
  assert.equal(config['advertised.listeners'], 'PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9294')
  assert.match(String(config['listener.security.protocol.map']), /SASL_SSL:SASL_SSL/)
  assert.equal(config['listener.name.sasl_ssl.sasl.enabled.mechanisms'], 'SCRAM-SHA-512')
  assert.equal(config['listener.name.sasl_ssl.ssl.keystore.type'], 'PEM')
})

test('scramUser writes the --add-scram entry and refuses what would break its syntax', () => {
  assert.equal(scramUser('alice', 'pw-1'), 'SCRAM-SHA-512=[name=alice,password=pw-1]')
  assert.throws(() => scramUser('alice', 'a,b'), { code: 'STRATA_ERR_INVALID_ARGUMENT' })
  assert.throws(() => scramUser('a b', 'pw'), { code: 'STRATA_ERR_INVALID_ARGUMENT' })
})
