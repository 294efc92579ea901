// The package as a Node engineer installs it (issue 14): `npm pack` (prepack builds dist/), then
// a fresh project with its own package.json installs the tarball, runs `strata --version` and
// `strata init`, type-checks the generated config with strict flags and skipLibCheck off (our
// .d.ts files are checked too), starts the embedded pipeline on a free port, posts events and
// reads the exact counts back, then does the same from code (startStrata). Node 24 (the repository's own, node_modules/node) plays the
// user's Node; the system Node 20, where there is one, must get the one-line "needs Node 24".
// Before: `npx strata` from an installed tarball failed with ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING.
// Needs npm and its registry (or a cache holding the dependencies: --prefer-offline).
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort } from '../helpers/process.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
}
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version

// The child npm and strata must not inherit an outer `npm test`'s npm_* settings (its lifecycle,
// its prefix): the fresh project is a user's, not ours. Node 24 first on PATH: the user's Node.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') && !name.startsWith('STRATA_')),
)
env.PATH = [dirname(process.execPath), env.PATH ?? ''].join(delimiter)
// Nor an outer `npm test`'s compile cache (scripts/test.ts): with it set, the installed command
// would skip turning its own on, and a broken import of dist/src/core/compile-cache.js go unseen.
delete env.NODE_COMPILE_CACHE
delete env.NODE_DISABLE_COMPILE_CACHE

/** An older Node to refuse, when the machine has one (Debian's node is 20 here). */
const olderNodeCandidate = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path))

const events = [
  { type: 'page_view', url: '/a', user: 'u1', ts: Date.UTC(2026, 0, 1, 10, 5) },
  { type: 'page_view', url: '/a', user: 'u2', ts: Date.UTC(2026, 0, 1, 10, 6) },
  { type: 'page_view', url: '/a', user: 'u1', ts: Date.UTC(2026, 0, 1, 11, 0) },
  { type: 'click', url: '/a', user: 'u3', ts: Date.UTC(2026, 0, 1, 10, 7) },
  { type: 'page_view', url: '/b', user: 'u1', ts: Date.UTC(2026, 0, 1, 10, 8) },
]

// The modules src/ starts by their own URL, in a thread or a child process (`./x.ts` from the
// sources, `./x.js` from dist/): no import names them, so the installed package could lack one
// (the segment scrub's hashing process, a fold thread) and still run `strata start`, degraded.
function startedByUrl(): string[] {
  const started = /import\.meta\.url\.endsWith\('\.ts'\) \? '\.\/([\w./-]+)\.ts' : '\.\/[\w./-]+\.js'/g
  const found: string[] = []
  for (const file of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue
    for (const [, name] of readFileSync(join(root, 'src', file), 'utf8').matchAll(started))
      found.push(join('dist/src', dirname(file), `${name}.js`))
  }
  assert.ok(found.length >= 5, `${found.length} modules started by URL found in src/`)
  return found
}

interface Answer {
  asOf: number[]
  windows?: { windowStart: number; value: unknown }[]
  value?: unknown
}

test('the packed tarball installs into a fresh project, type-checks strictly and runs the pipeline', {
  timeout: 300_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-tarball-'))
  t.after(() => rm(dir, { recursive: true, force: true }))

  // npm pack runs prepack (`npm run build`): the tarball always holds a fresh dist/.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: root,
    env,
    maxBuffer: 64 * 1024 * 1024,
  })
  const [pack] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string
    files: { path: string }[]
  }[]
  assert.ok(pack)
  const files = pack.files.map((f) => f.path)
  for (const left of ['test/', 'bench/', '.ci/', 'src/', 'scripts/', 'examples/', 'docs/']) {
    assert.deepEqual(
      files.filter((f) => f.startsWith(left)),
      [],
      `${left} is not shipped`,
    )
  }
  for (const needed of [
    'bin/strata.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/config.js',
    'dist/src/config.d.ts',
    'dist/src/batch/worker.js',
    'dist/src/serving/dashboard/public/index.html',
    'dist/examples/pageviews/strata.config.js',
    'tools/kafka/pom.xml',
    'tools/spark/pom.xml',
    'tools/spark-driver/pom.xml',
    'tools/spark-driver/src/main/java/dev/strata/spark/BatchDriver.java',
    ...startedByUrl(),
  ]) {
    assert.ok(files.includes(needed), `${needed} is shipped`)
  }

  const project = join(dir, 'app')
  await mkdir(project)
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  )
  await run(
    'npm',
    [
      'install',
      join(dir, pack.filename),
      `typescript@${versionOf('typescript')}`,
      `@types/node@${versionOf('@types/node')}`,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: project, env, maxBuffer: 64 * 1024 * 1024 },
  )

  await t.test('strata --version prints the package version on Node 24', async () => {
    const { stdout } = await run('npx', ['strata', '--version'], { cwd: project, env })
    assert.equal(stdout.trim(), manifest.version)
  })

  await t.test(
    'the installed strata keeps its compiled modules in a compile cache under its tmp folder',
    async () => {
      const tmp = join(dir, 'tmp')
      await mkdir(tmp, { mode: 0o700 })
      const bin = join(project, 'node_modules', '.bin', 'strata')
      const { stdout } = await run(process.execPath, [bin, '--version'], {
        cwd: project,
        env: { ...env, TMPDIR: tmp },
      })
      assert.equal(stdout.trim(), manifest.version)
      const cache = join(tmp, 'node-compile-cache')
      const entries = (await readdir(cache)).flatMap((version) => readdirSync(join(cache, version)))
      assert.ok(entries.length > 10, `${entries.length} modules cached`)
    },
  )

  await t.test('an older Node gets one line saying Node 24 is needed, and exit 1', async (t) => {
    const older = olderNodeCandidate
    const major = older ? Number((await run(older, ['--version'])).stdout.trim().slice(1).split('.')[0]) : 24
    if (!older || major >= 24) {
      t.skip('no Node older than 24 on this machine')
      return
    }
    const failed = await run(older, [join(project, 'node_modules', '.bin', 'strata'), '--version'], {
      cwd: project,
      env,
    }).then(
      () => assert.fail('strata ran on an older Node'),
      (error: { code: number; stdout: string; stderr: string }) => error,
    )
    assert.equal(failed.code, 1)
    assert.equal(failed.stdout, '')
    assert.match(failed.stderr, /^strata needs Node\.js 24 or newer \(this is v\d+\.\d+\.\d+\)[^\n]*\n$/)
  })

  await t.test('strata init writes a config and an .env example, and does not overwrite them', async () => {
    await run('npx', ['strata', 'init'], { cwd: project, env })
    const config = readFileSync(join(project, 'strata.config.ts'), 'utf8')
    assert.match(config, new RegExp(`from '${manifest.name}/config'`))
    assert.match(readFileSync(join(project, '.env.example'), 'utf8'), /STRATA_BROKERS/)
    const again = await run(process.execPath, [join(project, 'node_modules', '.bin', 'strata'), 'init'], {
      cwd: project,
      env,
    }).then(
      () => assert.fail('init overwrote'),
      (error: { code: number; stderr: string }) => error,
    )
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already exist.*--force.*STRATA_ERR_INVALID_ARGUMENT/)
    assert.equal(readFileSync(join(project, 'strata.config.ts'), 'utf8'), config)
  })

  await t.test(
    'a strict tsc (skipLibCheck off) type-checks the config and the API with 0 errors',
    async () => {
      await writeFile(
        join(project, 'api.ts'),
        `import { createServer, defineConfig, loadConfig, StrataError, count, startStrata, view } from '${manifest.name}'
import type { RunningStrata, StrataOptions } from '${manifest.name}'
import type { StrataConfig } from '${manifest.name}/config'
export const config: StrataConfig = defineConfig({
  source: { topic: 'orders' },
  views: [view('orders_by_shop').key((e) => String(e.shop)).aggregate(count())],
})
export { createServer, loadConfig, StrataError }
// Starting from code, with an option that may be undefined (exactOptionalPropertyTypes).
export async function embed(port: number | undefined): Promise<RunningStrata> {
  const options: StrataOptions = { config: 'strata.config.ts', port, role: 'all', batchInterval: '30s' }
  const strata = await startStrata(options)
  const health = await strata.health()
  if (!health.healthy) console.log(health.roles.map((r) => \`\${r.role}: \${r.state}\`))
  return strata
}
`,
      )
      await writeFile(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'es2024',
            module: 'nodenext',
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            skipLibCheck: false,
            noEmit: true,
          },
          include: ['strata.config.ts', 'api.ts'],
        }),
      )
      const checked = await run(
        process.execPath,
        [join(project, 'node_modules/typescript/bin/tsc'), '-p', '.'],
        {
          cwd: project,
          env,
        },
      ).catch((error: { stdout: string }) => assert.fail(`tsc found errors:\n${error.stdout}`))
      assert.equal(checked.stdout, '')
    },
  )

  await t.test('strata start runs the embedded pipeline: posted events are counted exactly', async () => {
    const port = await freePort()
    // The installed bin on Node 24 itself (not through npx, whose npm answers SIGTERM with 143).
    const child = spawn(
      process.execPath,
      [
        join(project, 'node_modules', '.bin', 'strata'),
        'start',
        '--config',
        'strata.config.ts',
        '--port',
        String(port),
        '--data',
        join(dir, 'data'),
      ],
      { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    t.after(() => child.exitCode === null && child.kill('SIGKILL'))
    const base = `http://127.0.0.1:${port}`

    const deadline = Date.now() + 60_000
    while (!output.includes('ready: API on')) {
      assert.ok(
        Date.now() < deadline && child.exitCode === null,
        `strata start did not get ready:\n${output}`,
      )
      await new Promise((r) => setTimeout(r, 100))
    }
    const posted = await fetch(`${base}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: events.map((e) => JSON.stringify(e)).join('\n'),
    })
    assert.equal(posted.status, 202, await posted.clone().text())
    assert.equal(((await posted.json()) as { count: number }).count, events.length)

    /** The answer once the speed layer has read every posted event. */
    async function answer(view: string, key: string): Promise<Answer> {
      for (;;) {
        const response = await fetch(`${base}/views/${view}/${encodeURIComponent(key)}`)
        assert.equal(response.status, 200)
        const body = (await response.json()) as Answer
        if (body.asOf.reduce((a, b) => a + b, 0) === events.length) return body
        assert.ok(Date.now() < deadline, `the speed layer did not read the events:\n${output}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const hour = (h: number) => Date.UTC(2026, 0, 1, h)
    assert.deepEqual(
      (await answer('pageviews_by_url', '/a')).windows?.map((w) => [w.windowStart, w.value]),
      [
        [hour(10), 2],
        [hour(11), 1],
      ],
    )
    assert.deepEqual(
      (await answer('pageviews_by_url', '/b')).windows?.map((w) => [w.windowStart, w.value]),
      [[hour(10), 1]],
    )
    assert.deepEqual(
      (await answer('unique_users_by_url', '/a')).windows?.map((w) => [w.windowStart, w.value]),
      [[hour(0), 3]],
    )
    const top = (await answer('top_urls', 'all')).value as { items: { item: string; count: number }[] }
    assert.deepEqual(top.items, [
      { item: '/a', count: 3 },
      { item: '/b', count: 1 },
    ])
    const page = await fetch(`${base}/`)
    assert.equal(page.status, 200, 'the dashboard is served from the package')

    child.kill('SIGTERM')
    assert.equal(await exited, 0, output)
  })

  await t.test('startStrata from code runs the embedded pipeline in the fresh project', async () => {
    // Plain JavaScript, as a program embedding Strata runs it: the package root's API, a free
    // port, its own data folder; posted events read back, then close().
    await writeFile(
      join(project, 'embed.mjs'),
      `import { startStrata } from '${manifest.name}'
const [data, body] = process.argv.slice(2)
const strata = await startStrata({ config: 'strata.config.ts', data, port: 0 })
try {
  const posted = await fetch(strata.url + '/events', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body })
  if (posted.status !== 202) throw new Error(posted.status + ' ' + (await posted.text()))
  for (;;) {
    const answer = await (await fetch(strata.url + '/views/pageviews_by_url/%2Fa')).json()
    if (answer.asOf.reduce((a, b) => a + b, 0) === body.split('\\n').length) {
      console.log(JSON.stringify({ windows: answer.windows, healthy: (await strata.health()).healthy }))
      break
    }
    await new Promise((r) => setTimeout(r, 100))
  }
} finally {
  await strata.close()
}
`,
    )
    const { stdout } = await run(
      process.execPath,
      ['embed.mjs', join(dir, 'data-api'), events.map((e) => JSON.stringify(e)).join('\n')],
      { cwd: project, env, timeout: 60_000 },
    )
    const got = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
      windows: { windowStart: number; value: unknown }[]
      healthy: boolean
    }
    const hour = (h: number) => Date.UTC(2026, 0, 1, h)
    assert.deepEqual(
      got.windows.map((w) => [w.windowStart, w.value]),
      [
        [hour(10), 2],
        [hour(11), 1],
      ],
    )
    assert.equal(got.healthy, true)
  })
})
