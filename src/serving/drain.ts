// Closing the HTTP server without resetting a connection whose client may have sent a request.
//
// Node's server.close() (which app.close() calls) closes the listening socket at once: the
// connections the kernel completed but Node had not accepted yet are reset by the kernel, and
// those pile up while the event loop is busy (a SIGTERM under load). It also closes idle keep-alive
// connections at once, and stops the timeouts that would end a connection that never sends. So
// app.close() drains first (a preClose hook, run before Fastify closes the server):
//
//   1. Accept what the kernel queued, turn by turn of the event loop, until a turn accepts
//      nothing; then stop listening. The only connections left to be reset are those the kernel
//      completed between that last poll and close() (microseconds, unless the process is
//      descheduled there): nothing in user space closes that window (Linux resets a listening
//      socket's accept queue on close), and nothing of those requests was read. Later
//      connections are refused (ECONNREFUSED: the client knows nothing was sent).
//   2. For up to shutdownGraceMs (default 1 s), or until no connection is left: a request that
//      arrives on an open connection is answered 503 STRATA_ERR_SHUTTING_DOWN with Retry-After
//      and `Connection: close` (nothing of it was written); a request already in its handler
//      (its events on their way to the log) finishes with its own answer, also with
//      `Connection: close`.
//   3. Connections that have sent nothing during the grace are closed (a FIN: nothing of theirs
//      was read, so none was written). Then Fastify closes the server: idle keep-alive
//      connections are closed, and it waits for the requests still in their handlers. Only then
//      does the caller close what ingest writes to (pipeline.ts closes the serving role first).
import type { Server } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { ErrorCodes, StrataError } from '../core/errors.ts'

/** Seconds a client is told to wait before retrying elsewhere or here. */
const RETRY_AFTER_S = 1

/** Whether app.close() has begun draining (the query route's path outside Fastify asks it). */
export interface DrainState {
  readonly draining: boolean
}

export function installDrain(app: FastifyInstance, graceMs: number): DrainState {
  let draining = false
  const sockets = new Set<Socket>()
  let accepted = 0
  app.server.on('connection', (socket: Socket) => {
    accepted++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  // First of the onRequest hooks (installed before auth): a refusal says nothing about the route.
  app.addHook('onRequest', (_request, reply, done) => {
    if (!draining) {
      done()
      return
    }
    const error = new StrataError(
      ErrorCodes.SHUTTING_DOWN,
      'the server is shutting down; nothing was written',
      { retriable: true },
    )
    reply
      .code(error.status)
      .header('connection', 'close')
      .header('retry-after', String(RETRY_AFTER_S))
      .send(error.toJSON())
  })
  // Callback hooks where nothing is awaited (here and for the answer's onResponse hooks): an async
  // one costs a promise and a turn of the microtask queue on every request.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })
  app.addHook('preClose', async () => {
    draining = true
    const deadline = Date.now() + graceMs
    // Accept what the kernel queued while the loop was busy (a poll phase here accepts one
    // connection) until a turn of the loop accepts nothing more; steady arrivals end at the grace.
    let seen: number
    do {
      seen = accepted
      await new Promise((resolve) => setImmediate(resolve))
    } while (accepted !== seen && Date.now() < deadline)
    stopListening(app.server)
    while (Date.now() < deadline && (await connections(app.server)) > 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(25, Math.max(1, deadline - Date.now()))))
    }
    for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy()
  })
  return {
    get draining() {
      return draining
    },
  }
}

/**
 * Closes the listening socket only: net.Server's close, not http.Server's, which would also close
 * the idle connections now. Fastify's later server.close() then finds it not running and waits
 * for the connections to end, as before.
 */
function stopListening(server: Server): void {
  if (server.listening) NetServer.prototype.close.call(server)
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error ? 0 : count)))
}
