// GET /openapi.json: the OpenAPI document generated from the routes' schemas. It must be valid,
// cover every route with the schemas of its answers, and be enough for a client: types generated
// from it (openapi-typescript) type-check a client (openapi-fetch) under a user's strict flags,
// and that client, run against a real server, posts events and reads their answer back.

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import SwaggerParser from '@apidevtools/swagger-parser'
import openapiTS, { astToString } from 'openapi-typescript'
import { errorTable } from '../../../src/core/errors.ts'
import { packageInfo } from '../../../src/core/package-info.ts'
import { createIngest, type SinkRecord } from '../../../src/ingest/ingest.ts'
import { listen } from '../../../src/serving/app.ts'
import { DOCS_PREFIX, isPageRoute, OPENAPI_PATH, registeredRoutes } from '../../../src/serving/openapi.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { config, openStore, PARTITIONS, SpeedFixture, serve, stateOf, viewNamed, W2 } from '../fixture.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const TOKEN = 'openapi-test-token-0123456789'

/** A server with every route: a store, ingest into a recording sink, the token on queries too. */
async function started(t: import('node:test').TestContext) {
  const store = await openStore(t)
  const written: SinkRecord[] = []
  const sink = {
    // Everything into partition 2, as a log would: offsets from 0.
    async append(records: SinkRecord[]) {
      return records.map((r) => ({ partition: 2, offset: written.push(r) - 1 }))
    },
  }
  const ingest = createIngest({ sink, timeField: config.source.time })
  const endOffsets = async () => Array.from({ length: PARTITIONS }, (_, p) => (p === 2 ? written.length : 0))
  const app = await serve(t, store, { ingest, endOffsets, auth: { token: TOKEN, protectQueries: true } })
  const { url } = await listen(app, { port: 0 })
  return { app, store, url, written }
}

async function documentOf(url: string) {
  const res = await fetch(`${url}${OPENAPI_PATH}`)
  assert.equal(res.status, 200, 'the document is open, like the dashboard page')
  return (await res.json()) as any
}

test('GET /openapi.json is a valid OpenAPI document with the version, servers and the bearer scheme', async (t) => {
  const { url } = await started(t)
  const doc = await documentOf(url)
  await SwaggerParser.validate(structuredClone(doc))
  assert.match(doc.openapi, /^3\./)
  assert.equal(doc.info.version, packageInfo().version)
  assert.ok(doc.servers.length > 0)
  assert.deepEqual(doc.components.securitySchemes.bearer, {
    ...doc.components.securitySchemes.bearer,
    type: 'http',
    scheme: 'bearer',
  })
  // This server wants the token on ingest, metrics and (protectQueries) queries; never on health.
  assert.deepEqual(doc.paths['/events'].post.security, [{ bearer: [] }])
  assert.deepEqual(doc.paths['/metrics'].get.security, [{ bearer: [] }])
  assert.deepEqual(doc.paths['/views/{view}/{key}'].get.security, [{ bearer: [] }])
  assert.equal(doc.paths['/health'].get.security, undefined)
  assert.ok(doc.paths['/events'].post.responses['401'])
  // A 415 is a content type or a content encoding POST /events does not take.
  assert.match(doc.paths['/events'].post.responses['415'].description, /content type.*content-encoding/)
  // The refusal envelope names every code.
  const envelope = doc.paths['/events'].post.responses['415'].content['application/json'].schema
  assert.deepEqual(
    envelope.properties.error.properties.code.enum,
    Object.values(errorTable).map(([code]) => code),
  )
  // A view's state, as /views and /views/:view/errors answer it (core/view-errors.ts, viewState).
  const views = doc.paths['/views'].get.responses['200'].content['application/json'].schema
  const errors = doc.paths['/views/{view}/errors'].get.responses['200'].content['application/json'].schema
  for (const view of [views.properties.views.items, errors]) {
    assert.deepEqual(view.properties.state.enum, ['ok', 'failing', 'stopped'])
    assert.deepEqual(view.properties.stops.items.properties.layer.enum, ['speed', 'batch'])
    assert.ok(view.required.includes('stops'))
  }
  // The docs page, open too; a route that needs the token still refuses without it.
  assert.equal((await fetch(`${url}${DOCS_PREFIX}/`)).status, 200)
  assert.equal((await fetch(`${url}/views`)).status, 401)
})

test('the document and the docs page answer only to allowed hosts, like every route', async (t) => {
  const { app } = await started(t)
  for (const path of [OPENAPI_PATH, `${DOCS_PREFIX}/`]) {
    const res = await app.inject({ url: path, headers: { host: 'evil.example' } })
    assert.equal(res.statusCode, 403, path)
    assert.equal(res.json().error.code, 'STRATA_ERR_HOST_NOT_ALLOWED')
  }
})

test('every route of the API is in the document, with a schema for its answers', async (t) => {
  const { app, url } = await started(t)
  const doc = await documentOf(url)
  const api = registeredRoutes(app).filter(
    (r) => !isPageRoute(r.url) && r.url !== OPENAPI_PATH && !r.url.startsWith(DOCS_PREFIX),
  )
  assert.ok(api.length >= 10, `routes seen: ${api.map((r) => r.url)}`)
  for (const route of api) {
    const path = route.url.replace(/:(\w+)/g, '{$1}')
    for (const method of route.methods.filter((m) => m !== 'HEAD')) {
      const operation = doc.paths[path]?.[method.toLowerCase()]
      assert.ok(operation, `${method} ${route.url} is not in the document`)
      const answers = Object.entries(operation.responses as Record<string, any>)
      const success = answers.filter(([status, r]) => status.startsWith('2') && r.content)
      assert.ok(success.length > 0, `${method} ${route.url} documents no answer with a schema`)
      assert.ok(operation.responses.default?.content, `${method} ${route.url} documents no refusal`)
    }
  }
})

// The client a user would write, type-checked against types generated from the live document.
const clientSource = `
import createClient from 'openapi-fetch'
import type { paths } from './api.ts'

export function connect(baseUrl: string, token: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } })
  return {
    async post(event: { type: string; url: string; user: string; ts: number }) {
      const { data, error, response } = await client.POST('/events', { body: event })
      if (error !== undefined) throw new Error(\`\${response.status} \${error.error.code}: \${error.error.message}\`)
      const first: { partition: number; offset: number } | undefined = data.records[0]
      return { count: data.count, first }
    },
    async answer(view: string, key: string) {
      const { data, error } = await client.GET('/views/{view}/{key}', { params: { path: { view, key } } })
      if (error !== undefined) throw new Error(error.error.code)
      // @ts-expect-error the answer's fields are typed: there is no 'total'
      void data.total
      const windows = (data.windows ?? []).map((w) => ({ start: w.windowStart, value: w.value }))
      const asOf: number[] = data.asOf
      const lag: number[] | null = data.lag
      return { windows, asOf, lag, batch: data.batch }
    },
  }
}
`

/** What client.ts exports (it is type-checked on its own, against the generated types). */
type Connect = (
  baseUrl: string,
  token: string,
) => {
  post(event: object): Promise<{ count: number; first?: { partition: number; offset: number } }>
  answer(
    view: string,
    key: string,
  ): Promise<{
    windows: Array<{ start: number; value: unknown }>
    asOf: number[]
    lag: number[] | null
    batch: unknown
  }>
}

const strictConfig = {
  compilerOptions: {
    target: 'es2024',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib: ['es2024', 'dom'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
  },
  files: ['client.ts'],
}

test('a client generated from the document type-checks and answers against the real server', async (t) => {
  const defer = deferrer(t)
  const { url, store, written } = await started(t)
  const speed = new SpeedFixture(store)
  await speed.register()

  // Inside the repository (tmp/ is ignored), so that the client resolves openapi-fetch from its
  // node_modules and Node strips its types when it runs.
  await mkdir(join(root, 'tmp'), { recursive: true })
  const dir = await mkdtemp(join(root, 'tmp', 'openapi-client-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const types = astToString(await openapiTS(await documentOf(url)))
  await writeFile(join(dir, 'api.ts'), types)
  await writeFile(join(dir, 'client.ts'), clientSource)
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(strictConfig))
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  const checked = await promisify(execFile)(process.execPath, [tsc, '-p', dir]).catch((e) => e)
  assert.equal(checked.code ?? 0, 0, `tsc on the generated client:\n${checked.stdout}${checked.stderr}`)

  const { connect } = (await import(pathToFileURL(join(dir, 'client.ts')).href)) as { connect: Connect }
  const client = connect(url, TOKEN)
  const events = [
    { type: 'page_view', url: '/d', user: 'u1', ts: W2 + 1000 },
    { type: 'page_view', url: '/d', user: 'u2', ts: W2 + 2000 },
  ]
  assert.deepEqual(await client.post(events[0]!), { count: 1, first: { partition: 2, offset: 0 } })
  assert.deepEqual(await client.post(events[1]!), { count: 1, first: { partition: 2, offset: 1 } })
  assert.deepEqual(
    written.map((r) => JSON.parse(r.value.toString())),
    events,
  )

  // What the speed layer does with them: fold partition 2 up to offset 2, one delta per window.
  const pv = viewNamed('pageviews_by_url')
  await speed.commit(2, 2, [{ epoch: 0, key: '/d', window: W2, state: stateOf(pv, events) }])

  const answer = await client.answer('pageviews_by_url', '/d')
  assert.deepEqual(answer.windows, [{ start: W2, value: 2 }])
  assert.equal(answer.batch, null)
  assert.equal(answer.asOf[2], 2)
  assert.deepEqual(answer.lag, [0, 0, 0, 0, 0, 0])
})
