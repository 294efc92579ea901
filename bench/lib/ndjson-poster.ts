// The ingest bench's HTTP client: POSTs prepared NDJSON bodies over node:http keep-alive
// connections, one a request in flight. Until session 20 the bench used `fetch` (undici), whose
// per-request machinery (WHATWG streams, Headers, a Response, the body copied into an
// ArrayBuffer) cost the client 1.1–2.4 µs an event on the same two cores as the server; the
// producer it is compared with has no client at all (BENCHMARKS.md, Ingest, session 20). This
// client does what a lean ingest client does (a batching agent such as Vector or Fluent Bit):
// sends the bytes, reads the whole answer, checks its status and count.
import { Agent, request } from 'node:http'

export interface Poster {
  /** POSTs `body` to `path`; resolves when the whole 202 is read; throws on any other answer. */
  post(body: Buffer, events: number): Promise<void>
  close(): void
}

export function ndjsonPoster(url: string, path: string, sockets: number): Poster {
  const { hostname, port } = new URL(url)
  const agent = new Agent({ keepAlive: true, maxSockets: sockets })
  return {
    post(body, events) {
      // What the answer starts with when it counts every event: `{"count":N,`.
      const expected = `{"count":${events},`
      return new Promise<void>((resolve, reject) => {
        const req = request(
          {
            agent,
            hostname,
            port,
            path,
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (chunk: Buffer) => chunks.push(chunk))
            res.on('error', reject)
            res.on('end', () => {
              // The first chunk holds the head but for a split answer: then the whole one.
              const first = chunks.length === 1 || (chunks[0]?.length ?? 0) >= expected.length
              const head = (first ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks)).toString(
                'latin1',
                0,
                expected.length,
              )
              if (res.statusCode !== 202 || head !== expected)
                reject(
                  new Error(
                    `POST ${path} ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 500)}`,
                  ),
                )
              else resolve()
            })
          },
        )
        req.on('error', reject)
        req.end(body)
      })
    },
    close() {
      agent.destroy()
    },
  }
}
