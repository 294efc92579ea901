// `strata --help | head -1`: the reader closes its end after one line. The command ends with exit
// 0 and says nothing more (it printed a raw EPIPE stack before).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { bin } from '../helpers/process.ts'

test('a reader that closes the pipe early ends the command quietly, exit 0', async () => {
  const child = spawn(process.execPath, [bin, 's3', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  // Close our end before reading anything: every write of the child meets a closed pipe.
  child.stdout.destroy()
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  assert.equal(stderr, '')
  assert.equal(code, 0)
})
