// A small pool of batch worker threads, one task (one partition) at a time per thread. Threads
// are started per batch run and ended after it: a run is minutes of work, a thread start is
// milliseconds, and nothing lingers between runs.
import { Worker } from 'node:worker_threads'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { EncodedEntries, FoldTask, WorkerMessage } from './worker.ts'

export interface FoldResult {
  partition: number
  events: number
  entries: EncodedEntries[]
}

export async function runFoldTasks(
  tasks: FoldTask[],
  threads: number,
  onProgress: (offsets: number) => void,
): Promise<FoldResult[]> {
  const queue = [...tasks]
  const results: FoldResult[] = []
  const workers: Worker[] = []
  try {
    await Promise.all(
      Array.from({ length: Math.min(threads, tasks.length) }, async () => {
        const worker = new Worker(new URL('./worker.ts', import.meta.url))
        workers.push(worker)
        for (let task = queue.shift(); task !== undefined; task = queue.shift()) {
          results.push(await runOne(worker, task, onProgress))
        }
      }),
    )
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
  return results.sort((a, b) => a.partition - b.partition)
}

function runOne(worker: Worker, task: FoldTask, onProgress: (offsets: number) => void): Promise<FoldResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage) => {
      if (message.type === 'progress') return onProgress(message.offsets)
      cleanup()
      if (message.type === 'done') resolve(message)
      else {
        const code = (Object.values(ErrorCodes) as string[]).includes(message.code ?? '')
          ? (message.code as (typeof ErrorCodes)[keyof typeof ErrorCodes])
          : ErrorCodes.INTERNAL
        reject(new StrataError(code, `batch task for partition ${task.partition} failed: ${message.message}`))
      }
    }
    const onError = (error: Error) => {
      cleanup()
      reject(
        new StrataError(ErrorCodes.INTERNAL, `batch worker crashed on partition ${task.partition}`, {
          cause: error,
        }),
      )
    }
    const cleanup = () => {
      worker.off('message', onMessage)
      worker.off('error', onError)
    }
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.postMessage(task)
  })
}
