// GET /metrics: valid Prometheus text with the events-in counter, lag per partition, batch age
// and duration per view, query latency by route, and the speed layer's totals.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { createIngest } from '../../src/ingest/ingest.ts'
import { createMetrics } from '../../src/serving/metrics.ts'
import { mergedScenario, openStore, serve } from './fixture.ts'
import { parsePrometheusText, sampleValue } from './prometheus-text.ts'

function memorySink() {
  let next = 0
  return { append: async (records: unknown[]) => records.map(() => ({ partition: 0, offset: next++ })) }
}

test('/metrics exposes events in, lag, batch age and duration, query latency and speed totals', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, {
    ingest: createIngest({ sink: memorySink() }),
    endOffsets: async () => [20, 6, 3, 0, 0, 0],
    speedStats: () => ({ folded: 41, skipped: 2 }),
  })

  const ndjson = [1, 2, 3].map((i) => JSON.stringify({ type: 'page_view', url: '/a', ts: 1767225600000 + i }))
  const headers = { 'content-type': 'application/x-ndjson' }
  const posted = await app.inject({ method: 'POST', url: '/events', payload: ndjson.join('\n'), headers })
  assert.equal(posted.statusCode, 202)
  // A rejected body counts nothing.
  assert.equal(
    (await app.inject({ method: 'POST', url: '/events', payload: '{"url":', headers })).statusCode,
    400,
  )
  await app.inject('/views/pageviews_by_url/%2Fa')
  await app.inject('/views/pageviews_by_url/%2Fb')
  await app.inject('/views/pageviews_by_url/top')
  await app.inject('/views')

  const res = await app.inject('/metrics')
  assert.equal(res.statusCode, 200)
  assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/)
  const families = parsePrometheusText(res.body)
  const value = (name: string, labels?: Record<string, string>) => sampleValue(families, name, labels)

  assert.equal(families.get('strata_events_ingested_total')?.type, 'counter')
  assert.equal(value('strata_events_ingested_total'), 3)

  assert.equal(value('strata_log_end_offset', { partition: '0' }), 20)
  assert.equal(value('strata_speed_offset', { partition: '0' }), 15)
  assert.equal(value('strata_speed_lag_records', { partition: '0' }), 5)
  assert.equal(value('strata_speed_lag_records', { partition: '1' }), 0)
  assert.equal(value('strata_view_lag_records', { view: 'pageviews_by_url', partition: '2' }), 3)
  assert.equal(families.get('strata_view_lag_records')?.type, 'gauge')
  // The speed log's rows not folded yet: a log that does not drain shows here.
  const logRows = store.speedLogRows?.()
  assert.ok(logRows !== undefined && logRows > 0, `log rows ${logRows}`)
  assert.equal(value('strata_speed_log_rows'), logRows)
  await store.compactSpeed((a) => a)
  const after = parsePrometheusText((await app.inject('/metrics')).body)
  assert.equal(sampleValue(after, 'strata_speed_log_rows'), 0, 'folded: none left')

  assert.equal(value('strata_batch_version', { view: 'pageviews_by_url' }), 1)
  assert.equal(value('strata_batch_duration_seconds', { view: 'pageviews_by_url' }), 4)
  const age = value('strata_batch_age_seconds', { view: 'pageviews_by_url' })
  assert.ok(age !== undefined && age >= 1, `batch age ${age}`)
  assert.equal(value('strata_batch_version', { view: 'top_urls' }), undefined, 'no batch version, no gauge')

  assert.equal(families.get('strata_query_duration_seconds')?.type, 'histogram')
  assert.equal(value('strata_query_duration_seconds_count', { route: '/views/:view/:key' }), 2)
  assert.equal(value('strata_query_duration_seconds_count', { route: '/views/:view/top' }), 1)
  assert.equal(value('strata_query_duration_seconds_count', { route: '/views' }), 1)

  assert.equal(value('strata_speed_records_folded_total'), 41)
  assert.equal(value('strata_speed_records_skipped_total'), 2)
  assert.ok(value('process_cpu_user_seconds_total') !== undefined, 'default process metrics')
})

test('each server has its own registry, and metrics of absent parts are not invented', async (t) => {
  const store = await openStore(t)
  const a = await serve(t, store)
  const b = await serve(t, store)
  const families = parsePrometheusText((await a.inject('/metrics')).body)
  parsePrometheusText((await b.inject('/metrics')).body)
  assert.equal(sampleValue(families, 'strata_events_ingested_total'), 0)
  assert.equal(families.has('strata_speed_records_folded_total'), false, 'no speed layer, no speed totals')
  assert.equal(families.get('strata_speed_lag_records')?.samples.length, 0, 'no end offsets, no lag')
})

test('the speed totals follow the provider, as counters', async () => {
  let stats = { folded: 10, skipped: 0 }
  const metrics = createMetrics({ speedStats: async () => stats })
  const first = parsePrometheusText(await metrics.render())
  assert.equal(sampleValue(first, 'strata_speed_records_folded_total'), 10)
  stats = { folded: 25, skipped: 1 }
  const second = parsePrometheusText(await metrics.render())
  assert.equal(sampleValue(second, 'strata_speed_records_folded_total'), 25)
  assert.equal(sampleValue(second, 'strata_speed_records_skipped_total'), 1)
})

test('the Prometheus text reader rejects what is not valid exposition', () => {
  assert.throws(() => parsePrometheusText('strata_x 1\n'), /before any family/)
  assert.throws(() => parsePrometheusText('# HELP a x\n# TYPE a gauge\na{b=1} 1\n'), /bad labels/)
  assert.throws(() => parsePrometheusText('# HELP a x\n# TYPE a gauge\na one\n'), /not a sample value/)
  assert.ok(
    Number.isNaN(parsePrometheusText('# HELP a x\n# TYPE a gauge\na Nan\n').get('a')?.samples[0].value),
  )
  assert.throws(() => parsePrometheusText('# HELP a x\n# TYPE a gauge\nb 1\n'), /does not belong/)
  const histogram =
    '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'
  assert.throws(() => parsePrometheusText(histogram), /not cumulative/)
})

test('/metrics still answers while the store is down: strata_store_up 0, the store gauges left out, the rest kept', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  let down = false
  const downable = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (down && ['speedPartitions', 'listBatchViews', 'speedViewErrors'].includes(String(name)))
          return Promise.reject(
            new StrataError(ErrorCodes.STORE, 'PostgreSQL store: reading failed: too many connections', {
              retriable: true,
            }),
          )
        return value.apply(target, args)
      }
    },
  })
  const app = await serve(t, downable, {
    ingest: createIngest({ sink: memorySink() }),
    endOffsets: async () => [20, 6, 3, 0, 0, 0],
  })
  const headers = { 'content-type': 'application/x-ndjson' }
  const event = JSON.stringify({ type: 'page_view', url: '/a', ts: 1767225600000 })
  assert.equal(
    (await app.inject({ method: 'POST', url: '/events', payload: event, headers })).statusCode,
    202,
  )
  const up = parsePrometheusText((await app.inject('/metrics')).body)
  assert.equal(sampleValue(up, 'strata_store_up'), 1)
  assert.equal(sampleValue(up, 'strata_speed_offset', { partition: '0' }), 15)

  down = true
  const res = await app.inject('/metrics')
  assert.equal(res.statusCode, 200, res.body)
  const families = parsePrometheusText(res.body)
  assert.equal(sampleValue(families, 'strata_store_up'), 0)
  assert.equal(sampleValue(families, 'strata_events_ingested_total'), 1)
  assert.equal(sampleValue(families, 'strata_log_end_offset', { partition: '0' }), 20)
  // Nothing stale from before the outage is shown as current.
  assert.equal(sampleValue(families, 'strata_speed_offset', { partition: '0' }), undefined)
  assert.equal(sampleValue(families, 'strata_batch_version', { view: 'pageviews_by_url' }), undefined)
})
