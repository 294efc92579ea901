// The events the batch benchmarks fold (bench/batch.ts, batch-decompose.ts, batch-profile.ts,
// spark-batch.ts) and the packed segments they are archived in: one definition, so that the
// figures of one bench stand beside another's (BENCHMARKS.md compares them).
import { SegmentBuilder, type SegmentStore } from '../../src/master-dataset/index.ts'

/** Event i: a page view (four in five) or a click, of 10,000 URLs and 100,000 users, 10 ms apart. */
export function batchEventText(i: number): string {
  const type = i % 5 === 4 ? 'click' : 'page_view'
  return `{"type":"${type}","url":"/p/${(i * 7919) % 10_000}","user":"u${(i * 104729) % 100_000}","ts":${1764000000000 + i * 10}}`
}

/**
 * Events 0..events-1 split evenly over `partitions` (the last takes what is left), each
 * partition's in segments of `perSegment` records, offsets from 0, written through `target`
 * (a SegmentStore or a master dataset); `onSegment` is given each segment's lines (bench/batch.ts
 * writes them to an NDJSON file for DuckDB too). Returns the events per partition (its horizon).
 */
export async function writeBatchSegments(
  target: { writeSegment: SegmentStore['writeSegment'] },
  events: number,
  options: { partitions: number; perSegment: number; onSegment?: (lines: string[]) => Promise<void> },
): Promise<number> {
  const { partitions, perSegment, onSegment } = options
  const perPartition = Math.ceil(events / partitions)
  for (let p = 0; p < partitions; p++) {
    for (let start = 0; start < perPartition; start += perSegment) {
      const end = Math.min(perPartition, start + perSegment, events - p * perPartition)
      if (end <= start) break
      const builder = new SegmentBuilder()
      const lines: string[] = []
      for (let offset = start; offset < end; offset++) {
        const i = p * perPartition + offset
        const text = batchEventText(i)
        if (onSegment) lines.push(text)
        builder.add({ offset, timestamp: 1764000000000 + i, key: null, value: Buffer.from(text) })
      }
      await target.writeSegment(p, { start, end }, builder.data(), builder.packer())
      if (onSegment) await onSegment(lines)
    }
  }
  return perPartition
}
