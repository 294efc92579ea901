import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { SegmentBuilder } from '../../src/master-dataset/segment-builder.ts'
import type { SegmentRecord } from '../../src/master-dataset/segment-format.ts'
import { deferrer } from '../helpers/cleanup.ts'

/** A temp folder removed after the test. */
export async function tempDir(t: TestContext, prefix = 'strata-archive-'): Promise<string> {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), prefix))
  defer(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }))
  return dir
}

export function pageView(offset: number): SegmentRecord {
  return {
    offset,
    timestamp: 1764000000000 + offset,
    key: offset % 3 === 0 ? null : `u${offset % 7}`,
    value: Buffer.from(
      `{"type":"page_view","url":"/p/${offset % 11}","user":"u${offset % 7}","ts":${1764000000000 + offset}}`,
    ),
  }
}

export function buildSegment(offsets: number[], make = pageView): SegmentBuilder {
  const builder = new SegmentBuilder()
  for (const offset of offsets) builder.add(make(offset))
  return builder
}

export function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i)
}
