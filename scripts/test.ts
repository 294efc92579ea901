// The whole test suite, as CI runs it (`npm test`): installs what is missing (scripts/setup.ts),
// starts the one-node Apache Kafka cluster the integration tests use (unless one is already
// up), runs every test file with node:test, and stops the cluster it started. Tests that need
// three brokers start and stop that cluster themselves. With STRATA_TEST_BROKERS set, the tests
// use that cluster instead and none is started. `npm test -- test/x.test.ts` runs some files.
import { spawn, spawnSync } from 'node:child_process'
import { globSync } from 'node:fs'
import { compileCacheFolder } from '../src/core/compile-cache.ts'
import { clusterStatus, startCluster, stopCluster } from '../src/kafka-cluster/index.ts'
import { setup } from './setup.ts'

const only = process.argv.slice(2)

// Types and lint first: a suite that passes on code that does not type-check is not green.
if (only.length === 0) {
  for (const [name, command] of [
    ['typecheck', ['node_modules/typescript/bin/tsc', '--noEmit']],
    ['lint', ['node_modules/@biomejs/biome/bin/biome', 'check', '.']],
  ] as const) {
    const result = spawnSync(process.execPath, command, { stdio: 'inherit' })
    if (result.status !== 0) {
      console.error(`npm test: ${name} failed`)
      process.exit(1)
    }
    console.log(`${name}: ok`)
  }
}
await setup()

const given = process.env.STRATA_TEST_BROKERS
const wasRunning = given !== undefined || (await clusterStatus({ nodes: 1 })).answering
const bootstrap =
  given ?? (await startCluster({ nodes: 1, log: (line: string) => console.log(`kafka: ${line}`) })).bootstrap
let stopping = false
async function stop(): Promise<void> {
  if (stopping || wasRunning) return
  stopping = true
  await stopCluster({ nodes: 1 })
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stop().finally(() => process.exit(130))
  })
}

// Every test file runs in a process of its own that loads the sources again: with Node's compile
// cache each file is stripped and compiled once for the whole run, not once per process (~20 %
// of the suite's CPU; docs/decisions/0012's last addendum). NODE_DISABLE_COMPILE_CACHE=1 runs
// without it.
function testEnv(): NodeJS.ProcessEnv {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE) return process.env
  const folder = compileCacheFolder()
  return folder === undefined ? process.env : { ...process.env, NODE_COMPILE_CACHE: folder }
}

const files = only.length > 0 ? only : globSync('test/**/*.test.ts').sort()
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    // The slowest files at the end (scripts/file-times.ts): where a longer run spent its time.
    '--test-reporter=./scripts/file-times.ts',
    '--test-reporter-destination=stdout',
    '--test-concurrency=2',
    '--test-timeout=600000',
    ...files,
  ],
  {
    stdio: 'inherit',
    env: { ...testEnv(), STRATA_TEST_BROKERS: bootstrap },
  },
)
const code: number = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)))
await stop()
process.exit(code)
