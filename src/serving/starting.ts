// The HTTP port is bound before any layer starts (runtime/pipeline.ts, strata worker serve): a
// port in use then fails the process before it has claimed a partition, fenced another speed
// layer or written a byte. Between the bind and the layers being up, the gate answers every
// route with 503 STRATA_ERR_STARTING (Retry-After: nothing was written; ask again shortly), and
// GET /health with status "starting", so a load balancer does not route to it yet.
//
// What the routes are given (the store, ingest's sink, end offsets, the speed layer's counters)
// does not exist yet when the app is built: `later` holds a stand-in that forwards to the real
// thing once it is set, and refuses with STRATA_ERR_STARTING before.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { scrubSecrets } from '../core/secrets.ts'

const RETRY_AFTER_S = 1

export interface StartingGate {
  /** The onRequest hook (server.ts installs it when a gate is given). */
  hook(request: FastifyRequest, reply: FastifyReply): Promise<unknown>
  /** The layers are up: requests go through from now on. */
  open(): void
  readonly starting: boolean
}

export function startingError(): StrataError {
  return new StrataError(ErrorCodes.STARTING, 'the server is starting; nothing was written; retry shortly', {
    retriable: true,
  })
}

/** `reason`: what the start waits for now (startup.ts's line), said on /health while starting. */
export function createStartingGate(reason: () => string | undefined = () => undefined): StartingGate {
  let starting = true
  return {
    get starting() {
      return starting
    },
    open() {
      starting = false
    },
    async hook(request, reply) {
      if (!starting) return
      const path = request.url.split('?')[0]
      // Alive while starting: a liveness probe must not restart a process that is coming up.
      if (path === '/health/live') return reply.code(200).send({ status: 'alive', starting: true })
      const refusal = startingError()
      reply.code(refusal.status).header('retry-after', String(RETRY_AFTER_S))
      if (path === '/health' || path === '/health/ready') {
        // Why it is still starting (a broker refusing, the store unreachable), scrubbed like a log line.
        const why = reason()
        return reply.send(why ? { status: 'starting', reason: scrubSecrets(why) } : { status: 'starting' })
      }
      return reply.send(refusal.toJSON())
    },
  }
}

/**
 * A stand-in for an object made after the app: its methods forward to `set(value)`'s value, and
 * before that throw STRATA_ERR_STARTING (the gate keeps requests out; this covers timers).
 */
export function later<T extends object>(): { value: T; set(value: T): void } {
  let target: T | undefined
  const value = new Proxy({} as T, {
    get(_stub, property) {
      // Not a thenable, whatever it stands for; symbols (inspect, iterators) as the target has them.
      if (property === 'then' || typeof property === 'symbol') {
        return target === undefined ? undefined : Reflect.get(target, property)
      }
      if (target === undefined) {
        return () => {
          throw startingError()
        }
      }
      const member = Reflect.get(target, property)
      return typeof member === 'function' ? member.bind(target) : member
    },
  })
  return {
    value,
    set(real) {
      target = real
    },
  }
}
