import assert from 'node:assert/strict'
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { loadConfig } from '../../src/core/config-loader.ts'
import type { StrataError } from '../../src/core/errors.ts'
import { deferrer } from '../helpers/cleanup.ts'

const strata = pathToFileURL(join(import.meta.dirname, '../../src/index.ts')).href

test('loadConfig: the example config loads, with the three views of docs/architecture.md', async () => {
  const config = await loadConfig(join(import.meta.dirname, '../../examples/pageviews/strata.config.ts'))
  assert.deepEqual(config.source, { topic: 'events', partitions: 6, time: 'ts' })
  assert.deepEqual(
    config.views.map((v) => [v.name, v.timeWindow?.size ?? null, v.monoid?.definition.name]),
    [
      ['pageviews_by_url', 3_600_000, 'count'],
      ['unique_users_by_url', 86_400_000, 'distinctCount'],
      ['top_urls', null, 'topK'],
    ],
  )
})

test('loadConfig: validates a plain default export, and reports bad files as INVALID_CONFIG', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-config-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const write = async (name: string, text: string) => {
    await writeFile(join(dir, name), text)
    return join(dir, name)
  }

  const plain = await write(
    'plain.ts',
    `import { count, view } from '${strata}'\n` +
      `const source: { topic: string } = { topic: 'clicks' }\n` +
      `export default { source, views: [view('n').key(() => 'all').aggregate(count())] }\n`,
  )
  const config = await loadConfig(plain)
  assert.equal(config.source.topic, 'clicks')
  assert.equal(config.source.partitions, 6)

  const bad = await write('bad.ts', `export default { source: { topic: 'x', partitions: -1 }, views: [] }\n`)
  await assert.rejects(loadConfig(bad), { code: 'STRATA_ERR_INVALID_CONFIG', field: 'source.partitions' })

  const broken = await write('broken.ts', `export default {{\n`)
  await assert.rejects(loadConfig(broken), { code: 'STRATA_ERR_INVALID_CONFIG', message: /failed to load/ })

  const badView = await write('bad-view.ts', `import { tumbling } from '${strata}'\ntumbling('1x')\n`)
  await assert.rejects(loadConfig(badView), { code: 'STRATA_ERR_INVALID_VIEW' })

  const empty = await write('empty.ts', `export const x = 1\n`)
  await assert.rejects(loadConfig(empty), { code: 'STRATA_ERR_INVALID_CONFIG', message: /no default export/ })

  await assert.rejects(loadConfig(join(dir, 'missing.ts')), {
    code: 'STRATA_ERR_INVALID_CONFIG',
    message: /not found/,
  })
})

// import() caches by URL: a process keeps its config as first evaluated, whatever the file says
// later (a batch worker thread, a fresh isolate, evaluates it again).
test('loadConfig: a process keeps its first evaluation of a config; an edited file is not seen', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-config-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'strata.config.ts')
  const write = async (topic: string, mtime: number) => {
    await writeFile(
      file,
      `import { count, view } from '${strata}'\n` +
        `export default { source: { topic: '${topic}' }, views: [view('n').key(() => 'all').aggregate(count())] }\n`,
    )
    await utimes(file, mtime, mtime)
  }
  await write('first', 1_000_000)
  assert.equal((await loadConfig(file)).source.topic, 'first')
  await write('second', 2_000_000)
  assert.equal((await loadConfig(file)).source.topic, 'first')
})

// `npm init -y` (npm 10.9 and later) writes "type": "commonjs" into package.json, and Node then
// loads a .ts file there as CommonJS: the config `strata init` writes, all import statements,
// failed with "Cannot use import statement outside a module" (the README's first steps, from a
// fresh project). A config with module syntax loads as a module whatever the package says; a
// CommonJS config still loads as one, and a file that is neither still fails with its code.
test('loadConfig: a module config loads in a package.json of "type": "commonjs", as npm init writes', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-config-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'commonjs' }))
  const write = async (name: string, text: string) => {
    await writeFile(join(dir, name), text)
    return join(dir, name)
  }

  const module = await write(
    'strata.config.ts',
    `import { count, defineConfig, view } from '${strata}'\n` +
      `const topic: string = 'clicks'\n` +
      `export default defineConfig({ source: { topic }, views: [view('n').key(() => 'all').aggregate(count())] })\n`,
  )
  // Nor does Node's warning that the file "failed to load" as CommonJS reach the user.
  const warnings: string[] = []
  const onWarning = (warning: Error) => warnings.push(warning.message)
  process.on('warning', onWarning)
  defer(() => process.off('warning', onWarning))
  assert.equal((await loadConfig(module)).source.topic, 'clicks')
  assert.deepEqual(
    warnings.filter((w) => w.includes('Failed to load')),
    [],
  )

  const commonjs = await write(
    'commonjs.config.ts',
    `const { count, view } = require(${JSON.stringify(join(import.meta.dirname, '../../src/index.ts'))})\n` +
      `module.exports = { source: { topic: 'cjs' }, views: [view('n').key(() => 'all').aggregate(count())] }\n`,
  )
  assert.equal((await loadConfig(commonjs)).source.topic, 'cjs')

  const broken = await write('broken.ts', `export default {{\n`)
  await assert.rejects(loadConfig(broken), { code: 'STRATA_ERR_INVALID_CONFIG', message: /failed to load/ })
})

// A config that fails to load said what ("Expected ',', got ']'", "….agregate is not a function")
// but not where: the line comes from the error's stack, in the message and in the error's line.
test('loadConfig: a config that fails to load is refused with the line of its error', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-config-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const write = async (name: string, text: string) => {
    await writeFile(join(dir, name), text)
    return join(dir, name)
  }
  const head = `import { count, view } from '${strata}'\nexport default {\n  source: { topic: 'x' },\n`

  const syntax = await write(
    'syntax.ts',
    `${head}  views: [view('n').key(() => 'all').aggregate(count()],\n}\n`,
  )
  await assert.rejects(loadConfig(syntax), {
    code: 'STRATA_ERR_INVALID_CONFIG',
    message: /failed to load: Expected ',', got '\]' \(line 4\)$/,
    line: 4,
  })

  const thrown = await write(
    'thrown.ts',
    `${head}  views: [view('n').key(() => 'all').agregate(count())],\n}\n`,
  )
  await assert.rejects(loadConfig(thrown), {
    code: 'STRATA_ERR_INVALID_CONFIG',
    message: /agregate is not a function \(line 4\)$/,
    line: 4,
  })

  // An error of Strata's own that the config's code raised (a bad view name) keeps its code and
  // gains the file and line; it named neither before.
  const named = await write(
    'named.ts',
    `${head}  views: [\n    view('a/b').key(() => 'all').aggregate(count())],\n}\n`,
  )
  await assert.rejects(loadConfig(named), (error: StrataError) => {
    assert.equal(error.code, 'STRATA_ERR_INVALID_VIEW')
    assert.equal(error.line, 5)
    assert.equal(
      error.message,
      `config file ${named}, line 5: view name must be 1-64 letters, digits, '_' or '-', starting with a letter, got "a/b"`,
    )
    return true
  })
})

test('loadConfig: a missing config says how to get one (strata init, --config)', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-config-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const missing = join(dir, 'strata.config.ts')
  await assert.rejects(loadConfig(missing), {
    code: 'STRATA_ERR_INVALID_CONFIG',
    field: 'config',
    message: `config file not found: ${missing} (\`strata init\` writes one in the current folder; --config (or STRATA_CONFIG) names another)`,
  })
})
