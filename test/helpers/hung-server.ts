// What the tests of a server that takes the connection and never answers share (a PostgreSQL or
// a Kafka broker, or a proxy before one): the listener, and `strata` run against it until it
// gives up by itself, with its one `strata:` line.
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { deferrer } from './cleanup.ts'
import { runUntilExit } from './process.ts'

/** A TCP listener on loopback that accepts and never writes a byte; closed when `t` ends. */
export async function listenHung(t: TestContext): Promise<{ port: number; sockets: Socket[] }> {
  const defer = deferrer(t)
  const sockets: Socket[] = []
  const hung = createServer((socket) => {
    sockets.push(socket)
    socket.resume() // what the client sends is read and dropped, never answered
  })
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
  defer(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise((resolve) => hung.close(() => resolve(undefined)))
  })
  return { port: (hung.address() as { port: number }).port, sockets }
}

/**
 * `strata <args>` until it exits by itself (killed when `t` ends if it has not), asserted to exit
 * 1 within 60 s, having connected to `sockets`' server, with exactly one `strata:` line: returned.
 */
export async function giveUpLine(t: TestContext, args: string[], sockets: Socket[]): Promise<string> {
  const { code, output } = await runUntilExit(t, args)
  assert.equal(code, 1, output)
  assert.ok(sockets.length > 0, `it never connected: ${output}`)
  const lines = output.match(/^strata: .*$/gm) ?? []
  assert.equal(lines.length, 1, output)
  return lines[0]!
}
