// The peer a user would put in Strata's place for queries (issue 15): a small Node HTTP service
// answering GET /views/pageviews_by_url/:key with the body stored in Redis under that key —
// node:http (the fastest Node server; Fastify would add its routing on top) and one pipelined
// Redis connection, as ioredis uses by default: each command written as it is issued, replies
// matched in order. The project has no Redis client among its dependencies, so the client is
// the few lines below (RESP GET and bulk replies only); a general client (ioredis, node-redis)
// does at least this much work per command, so this peer is if anything faster than the one a
// user would write.
//
//   node bench/lib/redis-http.ts REDIS_PORT KEY_PREFIX
//   prints the port it listens on, one line; answers 200 with the stored bytes, 404 when the key
//   is missing; SIGTERM closes it.
import { createServer } from 'node:http'
import { connect } from 'node:net'

const redisPort = Number(process.argv[2])
const keyPrefix = process.argv[3]!
const route = '/views/pageviews_by_url/'

type Reply = (value: Buffer | null, error?: Error) => void
const waiting: Reply[] = []
let pending: Buffer = Buffer.alloc(0)
const redis = connect({ host: '127.0.0.1', port: redisPort, noDelay: true })
redis.on('error', (err) => {
  for (const reply of waiting.splice(0)) reply(null, err)
})
redis.on('data', (chunk: Buffer) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
  let pos = 0
  for (;;) {
    const eol = pending.indexOf('\r\n', pos)
    if (eol === -1) break
    const type = pending[pos]
    if (type !== 0x24 /* $ */) {
      waiting.shift()!(null, new Error(pending.toString('latin1', pos, eol)))
      pos = eol + 2
      continue
    }
    const n = Number(pending.toString('latin1', pos + 1, eol))
    if (n < 0) {
      waiting.shift()!(null)
      pos = eol + 2
      continue
    }
    if (pending.length < eol + 2 + n + 2) break
    waiting.shift()!(pending.subarray(eol + 2, eol + 2 + n))
    pos = eol + 2 + n + 2
  }
  pending = pos === pending.length ? Buffer.alloc(0) : pending.subarray(pos)
})

function get(key: string, reply: Reply): void {
  const k = Buffer.byteLength(key)
  waiting.push(reply)
  redis.write(`*2\r\n$3\r\nGET\r\n$${k}\r\n${key}\r\n`)
}

const server = createServer((req, res) => {
  const url = req.url ?? ''
  if (req.method !== 'GET' || !url.startsWith(route)) {
    res.writeHead(404, { 'content-length': 0 }).end()
    return
  }
  let key: string
  try {
    key = decodeURIComponent(url.slice(route.length))
  } catch {
    res.writeHead(400, { 'content-length': 0 }).end()
    return
  }
  get(keyPrefix + key, (value, error) => {
    if (error) {
      res.writeHead(500, { 'content-length': 0 }).end()
      return
    }
    if (value === null) {
      res.writeHead(404, { 'content-length': 0 }).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': value.length })
    res.end(value)
  })
})
server.keepAliveTimeout = 60_000
redis.once('connect', () => {
  server.listen(Number(process.env.STRATA_BENCH_LISTEN ?? 0), '127.0.0.1', () => {
    console.log((server.address() as { port: number }).port)
  })
})
process.on('SIGTERM', () => {
  redis.end()
  server.close(() => process.exit(0))
})
