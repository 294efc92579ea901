// `strata init` and `strata --version` from the sources (the tarball test plays them from the
// installed package): init writes both files, refuses to overwrite either without --force (a
// user's views are not lost to a second run), and --force rewrites them.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { bin } from '../helpers/process.ts'

const run = promisify(execFile)
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string
  version: string
}

test('strata --version prints package.json version', async () => {
  const { stdout } = await run(process.execPath, [bin, '--version'])
  assert.equal(stdout, `${manifest.version}\n`)
})

test('strata init writes strata.config.ts and .env.example, keeps them without --force', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-init-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const { stdout } = await run(process.execPath, [bin, 'init'], { cwd: dir })
  assert.equal(stdout, 'wrote strata.config.ts\nwrote .env.example\n')
  const config = readFileSync(join(dir, 'strata.config.ts'), 'utf8')
  assert.match(config, new RegExp(`^import \\{[^}]+\\} from '${manifest.name}/config'$`, 'm'))
  for (const name of ['STRATA_BROKERS', 'STRATA_STORE', 'STRATA_PORT', 'STRATA_TOKEN']) {
    assert.match(readFileSync(join(dir, '.env.example'), 'utf8'), new RegExp(`^# ${name}=`, 'm'))
  }

  writeFileSync(join(dir, 'strata.config.ts'), '// mine\n')
  const refused = await run(process.execPath, [bin, 'init'], { cwd: dir }).then(
    () => assert.fail('init overwrote an existing config'),
    (error: { code: number; stderr: string }) => error,
  )
  assert.equal(refused.code, 1)
  assert.equal(
    refused.stderr,
    'strata: strata.config.ts and .env.example already exist here: nothing written (--force overwrites) [STRATA_ERR_INVALID_ARGUMENT]\n',
  )
  assert.equal(readFileSync(join(dir, 'strata.config.ts'), 'utf8'), '// mine\n')

  await run(process.execPath, [bin, 'init', '--force'], { cwd: dir })
  assert.equal(readFileSync(join(dir, 'strata.config.ts'), 'utf8'), config)
})
