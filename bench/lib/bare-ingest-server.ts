// The limit the benchmark's HTTP client can reach (bench/ingest.ts --bare=1): a bare node:http
// server that reads each POST /events body whole, counts its lines and answers 202 with a body of
// the same shape and size as Strata's (every position), writing nothing anywhere. Run as a child
// process, as the Strata servers are: `node bench/lib/bare-ingest-server.ts PORT` prints
// `listening` once it is.
import { createServer } from 'node:http'

let offset = 0
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    let count = 0
    for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) count++
    let out = `{"count":${count},"records":[`
    for (let i = 0; i < count; i++) out += `${i === 0 ? '' : ','}{"partition":${i % 6},"offset":${offset++}}`
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8' })
    res.end(`${out}]}`)
  })
})
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'))
