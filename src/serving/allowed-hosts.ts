// Which names the server answers to (the Host header), so a web page on another site cannot read
// /views or /metrics through DNS rebinding: its requests carry the attacker's host name even when
// they reach 127.0.0.1. Browsers always send Host; a request without one is not from a page.
//
// Entries: a host name or address (`strata.internal`, `10.0.0.5`, `[::1]`), `.example.com` for
// that domain and its subdomains, or `*` for any host (behind a proxy that checks it already).
import { hostname, networkInterfaces } from 'node:os'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { ErrorCodes, StrataError } from '../core/errors.ts'

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]']
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]'])

/**
 * The default for a server listening on `listenHost`: loopback names, plus the listen address
 * itself; listening on every address adds this machine's name and its interface addresses.
 */
export function defaultAllowedHosts(listenHost: string): string[] {
  const hosts = new Set(LOOPBACK)
  if (WILDCARD_ADDRESSES.has(listenHost)) {
    hosts.add(hostname().toLowerCase())
    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) hosts.add(a.family === 'IPv6' ? `[${a.address}]` : a.address)
    }
  } else hosts.add(normalizeEntry(listenHost))
  return [...hosts]
}

/** `--allowed-hosts a,b,.c` (or `*`) as a list. */
export function parseAllowedHosts(list: string): string[] {
  return list
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .map(normalizeEntry)
}

function normalizeEntry(entry: string): string {
  const lower = entry.toLowerCase()
  // A bare IPv6 address is written as it appears in a Host header.
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower
}

/** The host part of a Host header (no port), lower case. */
export function hostOf(header: string): string {
  const lower = header.trim().toLowerCase()
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1)
  const colon = lower.lastIndexOf(':')
  return colon === -1 ? lower : lower.slice(0, colon)
}

export function hostAllowed(header: string | undefined, allowed: readonly string[]): boolean {
  if (header === undefined || allowed.includes('*')) return true
  const host = hostOf(header)
  return allowed.some((entry) =>
    entry.startsWith('.') ? host === entry.slice(1) || host.endsWith(entry) : host === entry,
  )
}

/** An onRequest hook refusing (403 STRATA_ERR_HOST_NOT_ALLOWED) hosts not in the list. */
// A callback hook, not an async one: it runs on every request, and an async hook costs a promise
// and a microtask each time. A refusal answers and does not call done (Fastify's early reply).
export function checkHost(allowed: readonly string[]) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (hostAllowed(request.headers.host, allowed)) {
      done()
      return
    }
    const error = new StrataError(
      ErrorCodes.HOST_NOT_ALLOWED,
      `this server does not answer to host ${hostOf(request.headers.host ?? '')}; start it with --allowed-hosts (env STRATA_ALLOWED_HOSTS) naming the hosts clients use`,
    )
    reply.code(error.status).send(error.toJSON())
  }
}
