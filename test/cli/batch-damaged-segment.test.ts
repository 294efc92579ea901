// `strata batch` (the one-off run) did not run the batch role's segment scrub: a sealed NDJSON
// rotten under its intact packed copy was folded from the copy and passed over in silence. Now
// the run hashes the segments it reads and says so: the warning with its code while it runs, and
// once more on stderr after the summary; the versions it served are exact, so it exits 0.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { deferrer } from '../helpers/cleanup.ts'
import { runUntilExit } from '../helpers/process.ts'
import { sealedMaster } from '../helpers/sealed-master.ts'

/** `strata batch` on the sealed master: exit 0, its versions served, and its one damage line. */
async function damageSaid(t: TestContext, config: string, data: string): Promise<string> {
  const { code, output } = await runUntilExit(t, [
    'batch',
    '--config',
    config,
    '--data',
    data,
    '--threads',
    '1',
  ])
  assert.equal(code, 0, output)
  assert.match(output, /hits: version \d+/, 'the run served its versions')
  const said = output.match(/^strata batch: master dataset damaged: .*$/gm) ?? []
  assert.equal(said.length, 1, output)
  return said[0]!
}

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

  const said = await damageSaid(t, config, data)
  assert.ok(said.includes(`segment ${file} does not match its checksum`), said)
  assert.match(said, /packed copy still holds the verified content.*\[STRATA_ERR_SEGMENT_CORRUPT\]$/)
})

// A FIFO put in place of a sealed segment's NDJSON: the scrub's thread opened it for reading and
// waited for a writer forever, so the run never ended, nor did the process on a signal (Node
// exits only once such a read returns). It is refused now, unread: the run folds from the packed
// copy, says the segment is not a regular file with its code, and exits 0.
test('strata batch with a FIFO in place of a sealed segment: refused unread, said with STRATA_ERR_SEGMENT_CORRUPT, exit 0', {
  timeout: 120_000,
}, async (t) => {
  if (process.platform === 'win32') return
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-fifo-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const { config, data, master, sealed } = await sealedMaster(dir)
  const file = sealed[0]!
  await rm(join(master, file))
  execFileSync('mkfifo', [join(master, file)])

  const said = await damageSaid(t, config, data)
  assert.ok(
    said.includes(`segment ${file} is not a regular file (a FIFO): refused, never read, so not verified`),
    said,
  )
  // The way out names no command that would open the FIFO (sha256sum would wait on it too).
  assert.match(
    said,
    /packed copy still holds the verified content.*find p\*\/ -mindepth 1 ! -type f.*\[STRATA_ERR_SEGMENT_CORRUPT\]$/,
  )
})
