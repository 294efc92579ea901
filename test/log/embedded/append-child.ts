// A child process for the crash test: appends to an embedded log forever, several appends in
// flight at once, and prints "ack <partition> <offset> <i>" for each acknowledged record, where
// record i's value is childEvent(i), i counting from argv[3]. The parent kills it with SIGKILL at a random moment.
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'

export const childEvent = (i: number) =>
  `{"type":"page_view","url":"/p/${i % 13}","user":"u${i}","ts":${1764000000000 + i}}`

if (process.argv[2]) {
  const log = await EmbeddedLog.open({ dir: process.argv[2], partitions: 3, maxSegmentRecords: 40 })
  let i = Number(process.argv[3] ?? 0)
  const writer = async () => {
    for (;;) {
      const batch = Array.from({ length: 1 + (i % 7) }, () => i++)
      const positions = await log.append(batch.map((n) => ({ key: `k${n % 17}`, value: childEvent(n) })))
      process.stdout.write(positions.map((p, j) => `ack ${p.partition} ${p.offset} ${batch[j]}\n`).join(''))
    }
  }
  await Promise.all([writer(), writer(), writer()])
}
