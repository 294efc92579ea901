// The lines the Spark batch engine's task processes read and write (docs/batch-on-spark.md). Every
// line is UTF-8 text without a raw newline or tab inside its fields (JSON escapes both), which is
// all Spark's `pipe` needs.
//
//   fold task in     {"configPath":…,"views":[…],"root":…,"partition":p,"to":n,"s3":{…}}
//   fold task out    <group>\t<partition>\t<encoded state>      one per (view, window, key)
//                    "meta"\t<partition>\t{"events":n,"errors":[…]}  one per task
//   combine out      <group>\t<encoded state>                   one per (view, window, key)
//                    the meta lines, unchanged
//
// <group> is the JSON text of [view index, window start, key]: the driver shuffles by it, so all
// states of a group meet in one combine task. All JSON is written as ASCII (asciiJson): Spark's
// pipe reads and writes lines in the JVM's default charset, which on Java 17 follows the locale
// (ASCII under LANG=C), so a key like "café" or a lone surrogate would not survive UTF-8.
import type { ViewHash } from '../../core/view-hash.ts'
import type { S3Settings } from '../../master-dataset/index.ts'
import type { FoldErrors } from '../partition-fold.ts'

export interface SparkFoldTask {
  configPath: string
  /** The views to fold, in the run's order, with the code hashes it stamps its versions with. */
  views: ViewHash[]
  /** The master dataset: a folder every executor sees, or s3://bucket/prefix/<topic>. */
  root: string
  partition: number
  to: number
  s3?: S3Settings
}

export interface TaskMeta {
  events: number
  errors: FoldErrors[]
}

export const META_GROUP = '"meta"'

/** JSON.stringify with every character past ASCII escaped as \uXXXX: the same value, parsed. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

export function groupOf(view: number, window: number, key: string): string {
  return asciiJson([view, window, key])
}

export function parseGroup(group: string): [view: number, window: number, key: string] {
  return JSON.parse(group) as [number, number, string]
}

/** Splits a line at its first `count` tabs. */
export function splitTabs(line: string, count: number): string[] {
  const parts: string[] = []
  let from = 0
  for (let i = 0; i < count; i++) {
    const tab = line.indexOf('\t', from)
    if (tab < 0) throw new Error(`a task line with fewer than ${count + 1} fields: ${line.slice(0, 200)}`)
    parts.push(line.slice(from, tab))
    from = tab + 1
  }
  parts.push(line.slice(from))
  return parts
}
