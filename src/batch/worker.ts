// Worker thread of the batch layer: loads the config itself (view functions cannot cross a
// thread boundary), folds the partitions it is sent, and answers with encoded states, which
// are plain data (the monoid's encode), so they clone cheaply and mean the same on any side.
import { parentPort } from 'node:worker_threads'
import { compileViews } from '../core/config.ts'
import { loadConfig } from '../core/config-loader.ts'
import { foldPartition } from './partition-fold.ts'

export interface FoldTask {
  configPath: string
  viewNames: string[]
  root: string
  partition: number
  to: number
}

export type WorkerMessage =
  | { type: 'progress'; partition: number; offsets: number }
  | { type: 'done'; partition: number; events: number; entries: EncodedEntries[] }
  | { type: 'error'; partition: number; message: string; stack?: string; code?: string }

/** Per view, parallel arrays: key, window start, encoded state. */
export interface EncodedEntries {
  keys: string[]
  windows: number[]
  states: unknown[]
}

const port = parentPort
if (port) {
  port.on('message', async (task: FoldTask) => {
    try {
      const config = await loadConfig(task.configPath)
      const views = compileViews(config).filter((v) => task.viewNames.includes(v.name))
      views.sort((a, b) => task.viewNames.indexOf(a.name) - task.viewNames.indexOf(b.name))
      const fold = await foldPartition({
        root: task.root,
        partition: task.partition,
        to: task.to,
        views,
        onProgress: (offsets) => port.postMessage({ type: 'progress', partition: task.partition, offsets }),
      })
      const entries = fold.tables.map((table, i) => {
        const out: EncodedEntries = { keys: [], windows: [], states: [] }
        for (const [key, window, state] of table.entries()) {
          out.keys.push(key)
          out.windows.push(window)
          out.states.push(views[i].monoid.encode(state))
        }
        return out
      })
      port.postMessage({ type: 'done', partition: task.partition, events: fold.events, entries })
    } catch (error) {
      const e = error as Error & { code?: string }
      port.postMessage({
        type: 'error',
        partition: task.partition,
        message: e.message,
        stack: e.stack,
        code: e.code,
      })
    }
  })
}
