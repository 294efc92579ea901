// A fold thread of the speed layer (fold-threads.ts is the main thread's side): parses, checks and
// folds the records of the partitions it is given into their pending windows, and answers a
// window's deltas when the main thread commits it. The main thread keeps everything else: the
// Kafka fetches, the seals and required boundaries, the commits (state and offset in one store
// transaction, as in process), the stats.
//
// Like the batch worker (src/batch/worker.ts), the thread loads the config file itself (view
// functions cannot cross a thread boundary) and first reports the code hash of every view it
// loaded; the main thread refuses threads whose views differ from its own.
//
// Each partition's window here is a PendingWindow, the same class the in-process path folds into:
// it keeps the batches sent over (their offsets, spans and bytes, by reference), not parsed events,
// so a rebuild parses them again. A window whose fold threw (a view with onError('stop'),
// or a bug) is broken: every later request for it answers the error, so the main thread can never
// commit a window that lacks records.
import { parentPort, workerData } from 'node:worker_threads'
import type { CompiledView } from '../core/compiled-view.ts'
import { compileViews } from '../core/config.ts'
import { loadConfig } from '../core/config-loader.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { type RecordReader, recordReaderFor } from '../core/projected-check.ts'
import { failureOf } from '../core/view-errors.ts'
import type { ViewHash } from '../core/view-hash.ts'
import type { FoldRequest, FoldThreadReply, FoldThreadSetup, PackedDeltas } from './fold-protocol.ts'
import { PendingWindow } from './pending-window.ts'

interface Slot {
  window: PendingWindow
  /**
   * The batch buffers sent for this window (the window keeps views of them, to rebuild from),
   * handed back for reuse when the window is dropped (batch-buffers.ts).
   */
  buffers: ArrayBuffer[]
  broken?: StrataError
}

/**
 * The window's deltas as columns (PackedDeltas), written straight from its tables: no delta
 * object, no key array. Its views are the thread's views, in the same order (the index sent).
 */
export function packDeltas(window: PendingWindow): PackedDeltas {
  const n = window.deltaCount
  const view = new Uint16Array(n)
  const epochs = new Float64Array(n)
  const windows = new Float64Array(n)
  const keyLengths = new Uint32Array(n)
  let numbers: Float64Array | undefined = new Float64Array(n)
  let states: unknown[] | undefined
  let keyText = ''
  let i = 0
  window.eachDelta((v, epoch, key, start, state) => {
    view[i] = v
    epochs[i] = epoch
    windows[i] = start
    keyText += key
    keyLengths[i] = key.length
    if (numbers !== undefined && typeof state === 'number') numbers[i] = state
    else {
      // A state that is not one number: every state goes as it is (structured clone).
      if (states === undefined) {
        states = Array.from(numbers!.subarray(0, i))
        states.length = n
        numbers = undefined
      }
      states[i] = state
    }
    i++
  })
  return {
    view,
    epochs,
    windows,
    keyText,
    keyLengths,
    states: numbers ?? states!,
    errors: [...window.errors],
    events: window.events,
  }
}

function serve(
  port: NonNullable<typeof parentPort>,
  views: ReadonlyArray<CompiledView<any, any>>,
  read: RecordReader,
  where: Float64Array,
): void {
  const slots = new Map<number, Slot>()
  const slot = (w: number, p: number): Slot => {
    const s = slots.get(w)
    if (s === undefined)
      throw new StrataError(ErrorCodes.INTERNAL, `fold thread: partition ${p} has no window ${w}`)
    if (s.broken) throw s.broken
    return s
  }
  const handle = (req: FoldRequest): FoldThreadReply => {
    switch (req.op) {
      case 'reset': {
        const window = new PendingWindow(views, read, req.from, req.open, req.p)
        window.where = where
        slots.set(req.w, { window, buffers: [] })
        return { id: req.id }
      }
      case 'fold': {
        const s = slot(req.w, req.p)
        if (req.offsets.length > 0 && s.buffers.at(-1) !== req.values.buffer)
          s.buffers.push(req.values.buffer as ArrayBuffer)
        const skipped: Array<[number, string]> = []
        let folded: number
        const values = Buffer.from(req.values.buffer, req.values.byteOffset, req.values.byteLength)
        try {
          folded = s.window.foldRecords(
            { offsets: req.offsets, starts: req.starts, ends: req.ends, values },
            req.seals,
            skipped,
          )
        } catch (error) {
          s.broken = asStrata(error, req.p)
          throw s.broken
        }
        return { id: req.id, folded, skipped }
      }
      case 'require': {
        const s = slot(req.w, req.p)
        try {
          return { id: req.id, outcome: s.window.require(req.boundaries) }
        } catch (error) {
          s.broken = asStrata(error, req.p)
          throw s.broken
        }
      }
      case 'reopen': {
        const s = slot(req.w, req.p)
        try {
          return { id: req.id, outcome: s.window.reopen(req.open) }
        } catch (error) {
          s.broken = asStrata(error, req.p)
          throw s.broken
        }
      }
      case 'deltas': {
        const packed = packDeltas(slot(req.w, req.p).window)
        const transfer: ArrayBuffer[] = [
          packed.view.buffer as ArrayBuffer,
          packed.epochs.buffer as ArrayBuffer,
          packed.windows.buffer as ArrayBuffer,
          packed.keyLengths.buffer as ArrayBuffer,
        ]
        if (!Array.isArray(packed.states)) transfer.push(packed.states.buffer as ArrayBuffer)
        port.postMessage({ id: req.id, deltas: packed } satisfies FoldThreadReply, transfer)
        return undefined as never
      }
      case 'drop': {
        // The window goes, and with it every view of its batch buffers: they go back to the main
        // thread (transferred: detached here, so nothing left here could read one reused).
        const freed = slots.get(req.w)?.buffers ?? []
        slots.delete(req.w)
        port.postMessage({ id: req.id, freed } satisfies FoldThreadReply, freed)
        return undefined as never
      }
    }
  }
  port.on('message', (req: FoldRequest) => {
    try {
      const reply = handle(req)
      if (reply !== undefined) port.postMessage(reply)
    } catch (error) {
      const e = error as StrataError
      port.postMessage({
        id: req.id,
        error: { message: e.message, code: e.code, stack: e.stack, failure: failureOf(e) },
      } satisfies FoldThreadReply)
    }
  })
}

function asStrata(error: unknown, p: number): StrataError {
  if (error instanceof StrataError) return error
  return new StrataError(
    ErrorCodes.INTERNAL,
    `partition ${p}: folding failed: ${(error as Error)?.message ?? error}`,
    { cause: error },
  )
}

const port = parentPort
if (port) {
  const { configPath, where } = workerData as FoldThreadSetup
  loadConfig(configPath)
    .then((config) => {
      const views = compileViews(config)
      const loaded: ViewHash[] = views.map((v) => ({ view: v.name, codeHash: v.codeHash }))
      serve(port, views, recordReaderFor(views, config.source.time), new Float64Array(where))
      port.postMessage({ id: -1, ready: loaded } satisfies FoldThreadReply)
    })
    .catch((error: Error & { code?: string }) => {
      port.postMessage({
        id: -1,
        error: { message: error.message, code: error.code, stack: error.stack },
      } satisfies FoldThreadReply)
    })
}
