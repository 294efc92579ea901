// `strata task combine`: a combine task of the Spark batch engine, run by Spark's `pipe` on the
// partitions of the shuffle by group (protocol.ts). Every state of a group is here: they are
// combined with the view's monoid in partition order, starting from the lowest partition — the
// order the local engine combines its per-partition states in (batch-run.ts), so that even a
// monoid that is only associative within its error bound (topK past its capacity) gives the same
// bytes on both engines. Meta lines pass through.
import type { Writable } from 'node:stream'
import type { ViewHash } from '../../core/view-hash.ts'
import { asciiJson, META_GROUP, parseGroup, splitTabs } from './protocol.ts'
import { readLines, writeLine } from './task-io.ts'
import { taskViews } from './task-views.ts'

export async function runCombineTask(
  configPath: string,
  wanted: readonly ViewHash[],
  input: NodeJS.ReadableStream,
  output: Writable,
): Promise<void> {
  const views = await taskViews(configPath, wanted)
  const groups = new Map<string, Array<{ partition: number; state: string }>>()
  for await (const line of readLines(input)) {
    if (line === '') continue
    const [group, partition, state] = splitTabs(line, 2) as [string, string, string]
    if (group === META_GROUP) {
      await writeLine(output, line)
      continue
    }
    let states = groups.get(group)
    if (!states) {
      states = []
      groups.set(group, states)
    }
    states.push({ partition: Number(partition), state })
  }
  for (const [group, states] of groups) {
    const view = views[parseGroup(group)[0]]
    if (!view)
      throw new Error(`a state of view index ${parseGroup(group)[0]}, past the ${views.length} views`)
    const { monoid } = view
    states.sort((a, b) => a.partition - b.partition)
    let combined: unknown
    for (const { state } of states) {
      const decoded = monoid.decode(JSON.parse(state) as never)
      combined = combined === undefined ? decoded : monoid.combine(combined, decoded)
    }
    await writeLine(output, `${group}\t${asciiJson(monoid.encode(combined))}`)
  }
}
