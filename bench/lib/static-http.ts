// The floor under the query benchmark: Node's own HTTP server answering GET
// /views/pageviews_by_url/%2Fp%2F<i> with a body held in memory (Strata's answer for that url,
// precomputed), nothing else. What it costs is the cost of HTTP on Node on this machine, which
// any Node server pays; Strata's query path is what comes on top of it.
//
//   node bench/lib/static-http.ts BODIES.json   (a JSON array: index i = the body of url /p/i)
//   prints the port it listens on, one line
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const bodies = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Array<string | null>
const prefix = '/views/pageviews_by_url/%2Fp%2F'
const server = createServer((req, res) => {
  const body = req.url?.startsWith(prefix) ? bodies[Number(req.url.slice(prefix.length))] : undefined
  if (body == null) {
    res.writeHead(404, { 'content-length': 0 }).end()
    return
  }
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(Number(process.env.STRATA_BENCH_LISTEN ?? 0), '127.0.0.1', () => {
  console.log((server.address() as { port: number }).port)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
