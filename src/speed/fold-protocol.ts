// The messages between the speed layer's main thread and its fold threads (fold-threads.ts,
// fold-thread-main.ts). Plain data; the big arrays are typed and transferred, not copied.
import type { ViewFoldError } from '../core/view-errors.ts'
import type { ViewHash } from '../core/view-hash.ts'

/** The thread's workerData: the config file it evaluates, once, at start. */
export interface FoldThreadSetup {
  configPath: string
  /**
   * Where the thread is folding (fold-threads.ts, FoldThread.stuck): [partition, offset, view
   * index] of the record and view in hand, then the steps taken (one per view applied to an
   * event), written by the thread as it goes. The main thread reads the steps each tick: a thread
   * whose steps stay put while a request waits is stuck (a view's code that never returns leaves
   * the first three pointing at the view and the event); one whose steps move is only slow.
   */
  where: SharedArrayBuffer
}

// Every request names its window `w` (unique in the process) besides its partition `p`: a folder
// that was fenced but not yet told (a zombie) must never fold into its successor's window.
export type FoldRequest =
  /** A new pending window `w` of partition p (after a claim, or a landed commit). */
  | { op: 'reset'; id: number; w: number; p: number; from: number; open: number }
  /**
   * Records of one batch: record i is values[starts[i] .. ends[i]) at offsets[i]. `seals` is flat
   * pairs (before record index, seal offset): a seal with index >= offsets.length comes after the
   * last record.
   */
  | {
      op: 'fold'
      id: number
      w: number
      p: number
      values: Uint8Array
      starts: Uint32Array
      ends: Uint32Array
      offsets: Float64Array
      seals: number[]
    }
  /** PendingWindow.require: make these offsets boundaries, rebuilding from the kept records if need be. */
  | { op: 'require'; id: number; w: number; p: number; boundaries: number[] }
  /**
   * PendingWindow.reopen: the epoch open in the store when this window commits is `open` (the
   * window before it landed resealed), refolding the kept records if need be.
   */
  | { op: 'reopen'; id: number; w: number; p: number; open: number }
  /** The window's deltas, to commit (the window stays until a reset). */
  | { op: 'deltas'; id: number; w: number; p: number }
  | { op: 'drop'; id: number; w: number; p: number }

/** A window's deltas, one entry per group: parallel arrays, keys cut from one string by length. */
export interface PackedDeltas {
  /** Index of the view in the config's view order. */
  view: Uint16Array
  epochs: Float64Array
  windows: Float64Array
  keyText: string
  keyLengths: Uint32Array
  /** Encoded states: a Float64Array when every one is a number. */
  states: Float64Array | unknown[]
  errors: ViewFoldError[]
  /** Valid events folded into the window. */
  events: number
}

export interface FoldThreadReply {
  /** The request's id; -1 for the thread's first message (ready, or why it could not load). */
  id: number
  ready?: ViewHash[]
  /** `failure`: the event a view defined with onError('stop') threw on (VIEW_FAILED). */
  error?: { message: string; code?: string; stack?: string; failure?: ViewFoldError }
  folded?: number
  skipped?: Array<[number, string]>
  outcome?: 'kept' | 'sealed' | 'rebuilt'
  deltas?: PackedDeltas
  /**
   * The answer to `drop`: the batch buffers the window held, transferred back for reuse
   * (batch-buffers.ts). The thread keeps no view of them.
   */
  freed?: ArrayBuffer[]
}
