// A partition's pending window folded in a fold thread (fold-threads.ts): what PendingWindow is
// in process, with the parsing, checking and folding done by the thread. This side keeps what the
// folder decides with (the offsets taken in, the epoch, the seals), so sealing and the commit
// policy stay synchronous; the records of a batch are gathered and sent as one message (send()),
// and the deltas are asked for when the window is committed (contents()).
//
// The thread applies the same operations in the same order to a PendingWindow of its own, so the
// seals here and there agree. One difference: this side does not know which records were valid
// events until the thread answers, so `taken` counts records (the commit policy's count), and a
// required boundary among records sent is always handed to the thread (which rebuilds only if a
// folded event lies past it).

import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { PackedRecords } from './batch-buffers.ts'
import type { FoldThreadReply } from './fold-protocol.ts'
import type { FoldThread } from './fold-threads.ts'
import { unpackDeltas } from './fold-threads.ts'
import type { WindowContents } from './pending-window.ts'

const NO_OFFSETS = new Float64Array(0)
const NO_SPANS = new Uint32Array(0)
const NO_VALUES = new Uint8Array(0)

export interface FoldReport {
  folded: number
  skipped: Array<[number, string]>
}

/** Window ids, unique in the process (fold-protocol.ts). */
let windows = 0

export class RemoteWindow {
  readonly from: number
  readonly partition: number
  readonly #thread: FoldThread
  readonly #w = ++windows
  readonly #views: ReadonlyArray<CompiledView<any, any>>
  readonly #onRebuilt: () => void
  #end: number
  #epoch: number
  #open: number
  #dropped = false
  #seals: number[] = []
  /** Offset of the last record taken in (sent or gathered): a seal must lie past it. */
  #last = Number.NEGATIVE_INFINITY
  #taken = 0
  // The records taken and not sent yet: [#first, #next) of #batch (packed as the source handed
  // them over: batch-buffers.ts).
  #batch: PackedRecords | undefined
  #first = 0
  #next = 0
  /** Flat (before record index, seal offset) pairs, the index counted from #first. */
  #batchSeals: number[] = []
  /** Settles once the thread has answered everything sent so far; rejects if any fold failed. */
  #answered: Promise<unknown> = Promise.resolve()
  /** The deltas asked for (askContents) while nothing was taken, sealed or required since. */
  #contents: Promise<FoldThreadReply> | undefined

  constructor(
    thread: FoldThread,
    views: ReadonlyArray<CompiledView<any, any>>,
    from: number,
    open: number,
    partition: number,
    onRebuilt: () => void,
  ) {
    this.#thread = thread
    this.#views = views
    this.from = from
    this.#open = open
    this.partition = partition
    this.#onRebuilt = onRebuilt
    this.#end = from
    this.#epoch = open
    this.#track(thread.request({ op: 'reset', w: this.#w, p: partition, from, open }))
  }

  /** Start of the epoch that is open in the store: deltas before the first seal go there. */
  get open(): number {
    return this.#open
  }

  get end(): number {
    return this.#end
  }

  get epoch(): number {
    return this.#epoch
  }

  get seals(): readonly number[] {
    return this.#seals
  }

  /** Records taken in (valid or not): the thread counts the events. */
  get taken(): number {
    return this.#taken
  }

  get empty(): boolean {
    return this.#end === this.from && this.#seals.length === 0
  }

  seal(at: number): void {
    if (at <= this.#epoch) return
    this.#contents = undefined
    if (at <= this.#last) {
      throw new StrataError(ErrorCodes.INTERNAL, `cannot seal at ${at}: a record at ${this.#last} is taken`)
    }
    this.#batchSeals.push(this.#next - this.#first, at)
    this.#seals.push(at)
    this.#epoch = at
  }

  /**
   * Takes in record i of a packed batch (the thread decides whether it is an event). The records
   * of a batch are taken in order; a record skipped (already taken) can only come first.
   */
  take(batch: PackedRecords, i: number): void {
    if (batch !== this.#batch || i !== this.#next) {
      if (this.#next !== this.#first) this.send()
      this.#batch = batch
      this.#first = i
      this.#next = i
    }
    this.#contents = undefined
    const offset = batch.offsets[i]!
    this.#next = i + 1
    this.#last = offset
    this.#end = offset + 1
    this.#taken++
  }

  /**
   * Takes in records [from, to) of a packed batch at once: what take(batch, i) for each of them
   * in order does (their offsets grow; no seal falls among them).
   */
  takeRun(batch: PackedRecords, from: number, to: number): void {
    if (from >= to) return
    this.take(batch, from)
    if (to - from === 1) return
    const offset = batch.offsets[to - 1]!
    this.#next = to
    this.#last = offset
    this.#end = offset + 1
    this.#taken += to - from - 1
  }

  advance(to: number): void {
    if (to > this.#end) this.#end = to
  }

  require(boundaries: readonly number[]): 'kept' | 'sealed' | 'rebuilt' {
    const missing = boundaries.filter((b) => b >= this.from && b !== this.open && !this.#seals.includes(b))
    if (missing.length === 0) return 'kept'
    this.#contents = undefined
    missing.sort((a, b) => a - b)
    if (missing[0]! > this.#epoch && missing[0]! > this.#last) {
      for (const b of missing) this.seal(b)
      return 'sealed'
    }
    this.send()
    const all = [...this.#seals, ...missing].sort((a, b) => a - b)
    this.#track(
      this.#thread
        .request({ op: 'require', w: this.#w, p: this.partition, boundaries: [...boundaries] })
        .then((reply) => {
          if (reply.outcome === 'rebuilt') this.#onRebuilt()
        }),
    )
    this.#seals = all
    this.#epoch = Math.max(this.#epoch, missing.at(-1)!)
    return 'sealed'
  }

  /**
   * The epoch open in the store is `open` now (PendingWindow.reopen): the window before this one,
   * whose commit started when this one did, was resealed before it landed. The thread refolds
   * this window's kept records from their batch buffers, which it still holds.
   */
  reopen(open: number): void {
    if (open === this.#open) return
    this.send()
    this.#contents = undefined
    this.#open = open
    this.#seals = this.#seals.filter((s) => s > open)
    this.#epoch = this.#seals.at(-1) ?? open
    this.#track(
      this.#thread.request({ op: 'reopen', w: this.#w, p: this.partition, open }).then((reply) => {
        if (reply.outcome === 'rebuilt') this.#onRebuilt()
      }),
    )
  }

  /**
   * Sends the records taken and the seals to the thread: the batch's buffer, transferred (it
   * comes back with `drop`: batch-buffers.ts). The answer says which were events and which were
   * skipped, and why.
   */
  send(): Promise<FoldReport> | undefined {
    const batch = this.#batch
    const first = this.#first
    const next = this.#next
    const count = next - first
    if (count === 0 && this.#batchSeals.length === 0) return undefined
    const transfer: ArrayBuffer[] = []
    let offsets: Float64Array = NO_OFFSETS
    let starts: Uint32Array = NO_SPANS
    let ends: Uint32Array = NO_SPANS
    let values: Uint8Array = NO_VALUES
    if (batch !== undefined && count > 0) {
      if (next === batch.offsets.length) {
        // The batch's last record: its buffers go, nothing more is read from them here.
        offsets = batch.offsets.subarray(first, next)
        starts = batch.starts.subarray(first, next)
        ends = batch.ends.subarray(first, next)
        values = batch.values
        for (const view of [values, offsets, starts, ends]) {
          const buffer = view.buffer as ArrayBuffer
          if (!transfer.includes(buffer)) transfer.push(buffer)
        }
        this.#batch = undefined
        this.#next = 0
      } else {
        // A require() between two records of a batch (rare): this part goes in copies, the
        // rest of the batch stays here for the next send.
        offsets = batch.offsets.slice(first, next)
        starts = batch.starts.slice(first, next)
        ends = batch.ends.slice(first, next)
        values = batch.values.slice()
        transfer.push(
          offsets.buffer as ArrayBuffer,
          starts.buffer as ArrayBuffer,
          ends.buffer as ArrayBuffer,
          values.buffer as ArrayBuffer,
        )
      }
    }
    this.#first = this.#next
    const seals = this.#batchSeals
    this.#batchSeals = []
    const reply = this.#thread
      .request({ op: 'fold', w: this.#w, p: this.partition, values, starts, ends, offsets, seals }, transfer)
      .then((r) => ({ folded: r.folded ?? 0, skipped: r.skipped ?? [] }))
    this.#track(reply)
    return reply
  }

  /** Resolves when the thread answered everything sent; rejects with why if anything failed. */
  async answered(): Promise<void> {
    this.send()
    await this.#answered
  }

  /**
   * Asks the thread for the window's deltas now, behind every batch sent (the thread answers in
   * order), without waiting for the folds' answers first: the folder asks as soon as a commit
   * falls due, and the thread folds and packs in one turn. contents() takes this answer while
   * the window has not changed since.
   */
  askContents(): void {
    this.send()
    if (this.#contents !== undefined) return
    this.#contents = this.#thread.request({ op: 'deltas', w: this.#w, p: this.partition })
    this.#contents.catch(() => undefined)
  }

  /** The window's deltas, asked of the thread (after every batch sent). */
  async contents(): Promise<WindowContents> {
    this.askContents()
    const reply = this.#contents!
    // A fold that failed fails the commit, whatever the deltas' answer.
    await this.#answered
    return unpackDeltas((await reply).deltas!, this.#thread.views, this.#views)
  }

  /** Frees the thread's copy of the window (the folder stopped or released the partition). */
  drop(): void {
    // Once: the answer hands the window's batch buffers back to the pool (batch-buffers.ts).
    if (this.#dropped) return
    this.#dropped = true
    this.#thread.request({ op: 'drop', w: this.#w, p: this.partition }).catch(() => undefined)
  }

  #track(answer: Promise<unknown>): void {
    const previous = this.#answered
    // Settled to undefined: holding each answer would chain every reply of the window.
    this.#answered = Promise.all([previous, answer]).then(() => undefined)
    this.#answered.catch(() => undefined)
  }
}
