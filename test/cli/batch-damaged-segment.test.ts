// `strata batch` (the one-off run) did not run the batch role's segment scrub: a sealed NDJSON
// rotten under its intact packed copy was folded from the copy and passed over in silence. Now
// the run hashes the segments it reads and says so: the warning with its code while it runs, and
// once more on stderr after the summary; the versions it served are exact, so it exits 0.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { deferrer } from '../helpers/cleanup.ts'
import { spawnStrata } from '../helpers/process.ts'
import { sealedMaster } from '../helpers/sealed-master.ts'

test('strata batch on a sealed segment whose NDJSON rotted under its packed copy: exit 0, the damage said with STRATA_ERR_SEGMENT_CORRUPT', {
  timeout: 120_000,
}, async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-damaged-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const { config, data, master, sealed } = await sealedMaster(dir)
  const file = sealed[0]!
  const bytes = await readFile(join(master, file))
  bytes[40] = bytes[40]! ^ 0x01
  await writeFile(join(master, file), bytes)

  const run = spawnStrata(['batch', '--config', config, '--data', data, '--threads', '1'])
  defer(async () => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL')
    await run.exited
  })
  assert.equal(await run.exited, 0, run.output())
  const output = run.output()
  assert.match(output, /hits: version \d+/, 'the run served its versions')
  const said = output.match(/^strata batch: master dataset damaged: .*$/gm) ?? []
  assert.equal(said.length, 1, output)
  assert.ok(said[0]!.includes(`segment ${file} does not match its checksum`), said[0])
  assert.match(said[0]!, /packed copy still holds the verified content.*\[STRATA_ERR_SEGMENT_CORRUPT\]$/)
})
