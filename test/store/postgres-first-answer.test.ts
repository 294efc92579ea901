// A PostgreSQL (or a proxy before it) that takes the connection and never answers held the
// store's open, and so `strata start`, with no word until a signal: the driver has no connect
// timeout and the open migrates, so it had no bound. Now the first answer (a connect and a first
// query) is bounded (first-answer.ts): STRATA_ERR_STORE_UNAVAILABLE naming the server and the
// database, the socket closed; the migration after it stays unbounded.
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import { parseTarget } from '../../src/store/postgres/connection.ts'
import { describeServer } from '../../src/store/postgres/first-answer.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { deferrer } from '../helpers/cleanup.ts'

// Helper 5's ports (2500-2599): a fixed one, so the test's server is the only one there.
const HUNG_PORT = 2551

test('a server that accepts and never answers: the open gives up after firstAnswerTimeoutMs naming it, its socket closed', {
  timeout: 20_000,
}, async (t) => {
  const defer = deferrer(t)
  const sockets: Socket[] = []
  const closed: Promise<void>[] = []
  const hung = createServer((socket) => {
    sockets.push(socket)
    socket.resume() // reads what the driver sends (its startup message) and never answers
    closed.push(new Promise((resolve) => socket.on('close', () => resolve())))
  })
  await new Promise<void>((resolve) => hung.listen(HUNG_PORT, '127.0.0.1', resolve))
  defer(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise((resolve) => hung.close(() => resolve(undefined)))
  })
  const url = `postgres://strata:s3cret@127.0.0.1:${HUNG_PORT}/analytics?schema=s`
  await assert.rejects(openPostgresStore(url, { firstAnswerTimeoutMs: 500 }), (error: unknown) => {
    const e = error as { code?: string; message: string; retriable?: boolean }
    assert.equal(e.code, 'STRATA_ERR_STORE_UNAVAILABLE')
    assert.equal(e.retriable, false, 'the attempt had the whole timeout: not waited on again')
    assert.match(
      e.message,
      /^PostgreSQL at 127\.0\.0\.1:2551, database analytics did not answer within 500ms \(connect and a first query; nothing was migrated\): gave up starting \(--startup-timeout\)$/,
    )
    assert.doesNotMatch(e.message, /s3cret/)
    return true
  })
  assert.equal(sockets.length, 1, 'one connection tried, for the first answer')
  // The abandoned connection is closed, not left to hold the process.
  await Promise.all(closed)
})

// A URL naming its server in the query (a Unix socket's folder, `?host=/var/run/postgresql`) was
// said to be "localhost:5432": the message named a server nobody had asked for.
test('the server named is the one the URL asks for: a Unix socket folder or a port in the query', () => {
  assert.equal(
    describeServer(parseTarget('postgres:///analytics?host=/var/run/postgresql')),
    'PostgreSQL at /var/run/postgresql:5432, database analytics',
  )
  assert.equal(
    describeServer(parseTarget('postgres:///analytics?host=/tmp&port=5433')),
    'PostgreSQL at /tmp:5433, database analytics',
  )
  assert.equal(
    describeServer(parseTarget('postgres://u:secret@db.example:6543/analytics')),
    'PostgreSQL at db.example:6543, database analytics',
  )
})
