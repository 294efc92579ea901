// While a burst holds the roles (src/runtime/ingest-burst.ts), /health says so on the held roles
// (roles[].held, the state left as their lag makes it: not a trouble) and /metrics has
// strata_role_held 1 for them; 0 once the burst is over.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RoleHealth } from '../../src/core/role-health.ts'
import { burstAware, burstBuffer, HELD_NOTE, IngestBurstMeter } from '../../src/runtime/ingest-burst.ts'
import { openStore, serve } from '../serving/fixture.ts'
import { parsePrometheusText, sampleValue } from '../serving/prometheus-text.ts'

test('a role held by an ingest burst says so on /health and /metrics, and stops saying so after', async (t) => {
  let now = 1_000_000
  const meter = new IngestBurstMeter(burstBuffer(), {
    rate: 1_000,
    spanMs: 100,
    lingerMs: 50,
    now: () => now,
  })
  const roles = new RoleHealth()
  roles.add(
    burstAware(
      () => ({
        role: 'speed',
        state: 'catching-up',
        partitions: [{ partition: 0, state: 'catching-up', lag: 20_000 }],
      }),
      meter,
    ),
  )
  roles.add(() => ({ role: 'batch', state: 'running' }))
  const store = await openStore(t)
  const app = await serve(t, store, { roles })
  const look = async () => {
    const health = (await app.inject('/health')).json() as {
      status: string
      roles: Array<{ role: string; state: string; held?: string }>
    }
    const families = parsePrometheusText((await app.inject('/metrics')).body)
    return {
      status: health.status,
      speed: health.roles.find((r) => r.role === 'speed')!,
      gauge: sampleValue(families, 'strata_role_held', { role: 'speed' }),
    }
  }
  meter.accepted(100)
  const held = await look()
  assert.equal(held.speed.held, HELD_NOTE)
  assert.equal(held.speed.state, 'catching-up', 'the state is the lag, not changed by the hold')
  assert.equal(held.status, 'ok')
  assert.equal(held.gauge, 1)
  now += 50
  const after = await look()
  assert.equal(after.speed.held, undefined)
  assert.equal(after.gauge, 0)
})
