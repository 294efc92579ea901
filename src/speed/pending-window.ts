// The uncommitted window of one partition: what the speed layer folded since the consumed offset
// the store holds (`from`), as delta tables per epoch, waiting for one commitSpeed.
//
// Invariant: the delta tables are exactly the fold of the kept events, each event at offset o
// going to the epoch that starts at the largest of `open` and the seals that is <= o. The events
// are kept (not just the tables) because a batch run may record a required boundary inside this
// window while we fold it (docs/horizon.md, rule 3); the store then refuses the commit, and the
// window is rebuilt with a seal there. Rebuilding refolds at most one commit's worth of events.
// What is kept is each event's record as read (where its bytes lie in a buffer the source already
// holds: a fetch's record, or a fold thread's batch), not the parsed object: 20,000 parsed events
// per window outlived the young generation and cost the garbage collector more than the rare
// rebuild costs to parse them again. The spans are numbers, not a Buffer view per record, for the
// same reason. A fold thread's batch already holds every record's offset and span (batch-buffers.ts
// PackedRecords): foldRecords keeps the batch by reference instead of copying them per event
// (session 14: that copy and its loop were ~19 % of the fold thread). A rebuild reads every record
// of a kept batch again and skips those that are no event: the same bytes through the same reader
// fail the same check, so it skips exactly the records the first fold skipped.
import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { StrataEvent } from '../core/event.ts'
import type { RecordReader } from '../core/projected-check.ts'
import { foldChecked, type ViewFoldError } from '../core/view-errors.ts'
import type { ViewTable } from '../core/view-table.ts'
import type { DeltaColumns, RealtimeDelta } from '../store/store.ts'

/**
 * Records kept by reference (a fold thread's batch): record i is values[starts[i] .. ends[i]) at
 * offsets[i], the offsets ascending.
 */
export interface KeptRecords {
  offsets: ArrayLike<number>
  starts: ArrayLike<number>
  ends: ArrayLike<number>
  values: Buffer
}

/** What a commit of a window carries besides its offsets. */
export interface WindowContents {
  deltas: RealtimeDelta[] | DeltaColumns
  errors: readonly ViewFoldError[]
  /** Valid events folded (the denominator of the view errors' rate). */
  events: number
}

export class PendingWindow {
  /** The stored consumed offset this window starts at. */
  readonly from: number
  readonly partition: number
  readonly #views: ReadonlyArray<CompiledView<any, any>>
  /** Events a view's code threw on (view-errors.ts), in offset order; refolded with the tables. */
  #errors: ViewFoldError[] = []
  readonly #recordError = (error: ViewFoldError): void => {
    this.#errors.push(error)
  }
  readonly #read: RecordReader
  #offsets: number[] = []
  // The record of each event kept, read again (by #read) only to rebuild: #spans holds, per event,
  // the index of its buffer in #chunks, and its start and end there.
  #chunks: Buffer[] = []
  #spans: number[] = []
  /**
   * Batches kept whole by foldRecords (a window takes records one way only: these or fold()), each
   * with how many events its first fold found: a rebuild that finds another count read other
   * bytes (the batch's memory handed on or reused) and fails rather than commit them.
   */
  #batches: Array<{ records: KeptRecords; events: number }> = []
  /** Valid events folded, and the offset of the last one (a seal must lie past it). */
  #events = 0
  #last = Number.NEGATIVE_INFINITY
  #seals: number[] = []
  #end: number
  #epoch: number
  #open: number
  #tables = new Map<number, ViewTable<unknown>[]>()
  /** The tables of #epoch (created at its first event): no map lookup per event. */
  #current: ViewTable<unknown>[] | undefined

  constructor(
    views: ReadonlyArray<CompiledView<any, any>>,
    read: RecordReader,
    from: number,
    open: number,
    partition = 0,
  ) {
    this.#views = views
    this.#read = read
    this.partition = partition
    this.from = from
    this.#open = open
    this.#end = from
    this.#epoch = open
  }

  /**
   * In a fold thread: the shared slots the thread says where it is folding in (fold-protocol.ts):
   * partition, offset and the index of the view in hand, so a view that never returns can be
   * named, and a step counted per view applied, so a slow one is seen to advance (a rebuild too).
   */
  where: Float64Array | undefined

  /** Start of the epoch that is open in the store: deltas before the first seal go there. */
  get open(): number {
    return this.#open
  }

  /** The offset after the last record taken in: the consumed offset once committed. */
  get end(): number {
    return this.#end
  }

  /** Start of the epoch the next event goes to. */
  get epoch(): number {
    return this.#epoch
  }

  get seals(): readonly number[] {
    return this.#seals
  }

  /** Events kept for this window (valid records folded). */
  get events(): number {
    return this.#events
  }

  /** Records taken in that count toward the commit policy: the events. */
  get taken(): number {
    return this.#events
  }

  /** The deltas, errors and event count a commit carries. */
  contents(): WindowContents {
    return { deltas: this.deltas(), errors: [...this.#errors], events: this.#events }
  }

  /** The events a view's code threw on in this window (each skipped by that view only). */
  get errors(): readonly ViewFoldError[] {
    return this.#errors
  }

  /** True when a commit would change nothing. */
  get empty(): boolean {
    return this.#end === this.from && this.#seals.length === 0
  }

  /**
   * Starts a new epoch at `at` (the periodic seal, at `end`). Seals at or below the current
   * epoch's start are no-ops; a seal must not fall among records already folded.
   */
  seal(at: number): void {
    if (at <= this.#epoch) return
    if (at <= this.#last) {
      throw new StrataError(ErrorCodes.INTERNAL, `cannot seal at ${at}: a record at ${this.#last} is folded`)
    }
    this.#startEpoch(at)
  }

  #startEpoch(at: number): void {
    this.#seals.push(at)
    this.#epoch = at
    this.#current = undefined
  }

  /**
   * Folds a valid event (its record is chunk[start, end), which the reader found to be an event);
   * `offset` must be at or past `end`.
   */
  fold(offset: number, event: StrataEvent, chunk: Buffer, start = 0, end = chunk.length): void {
    if (this.#batches.length > 0) throw new StrataError(ErrorCodes.INTERNAL, 'a window takes records one way')
    this.#offsets.push(offset)
    const chunks = this.#chunks
    if (chunks.length === 0 || chunks[chunks.length - 1] !== chunk) chunks.push(chunk)
    this.#spans.push(chunks.length - 1, start, end)
    this.#end = offset + 1
    this.#last = offset
    this.#events++
    this.#foldInto(offset, event)
  }

  /**
   * Reads every record of a batch (offsets at or past `end`) and folds those that are events,
   * keeping the batch by reference to rebuild from. `seals` is flat pairs (before record index,
   * seal offset), as a fold request carries them (fold-protocol.ts). Records that are no event go
   * to `skipped` with why. Returns how many were folded.
   */
  foldRecords(records: KeptRecords, seals: readonly number[], skipped: Array<[number, string]>): number {
    const { offsets, starts, ends, values } = records
    const n = offsets.length
    if (this.#offsets.length > 0) throw new StrataError(ErrorCodes.INTERNAL, 'a window takes records one way')
    const kept = { records, events: 0 }
    if (n > 0) this.#batches.push(kept)
    const read = this.#read
    let folded = 0
    let seal = 0
    for (let i = 0; i < n; i++) {
      while (seal < seals.length && seals[seal]! <= i) {
        this.seal(seals[seal + 1]!)
        seal += 2
      }
      const offset = offsets[i]!
      const event = read(values, starts[i]!, ends[i]!)
      this.#end = offset + 1
      if (typeof event === 'string') skipped.push([offset, event])
      else {
        this.#last = offset
        this.#foldInto(offset, event)
        folded++
      }
    }
    for (; seal < seals.length; seal += 2) this.seal(seals[seal + 1]!)
    kept.events = folded
    this.#events += folded
    return folded
  }

  /** Takes in offsets that carry no event (invalid records, transaction markers). */
  advance(to: number): void {
    if (to > this.#end) this.#end = to
  }

  /**
   * Makes every offset in `boundaries` (those at or past `from`) an epoch boundary of this window.
   * Returns 'rebuilt' when one of them falls among records already folded or below a seal (a
   * batch run required it after we passed it): the kept events are then refolded.
   */
  require(boundaries: readonly number[]): 'kept' | 'sealed' | 'rebuilt' {
    const missing = boundaries.filter((b) => b >= this.from && b !== this.open && !this.#seals.includes(b))
    if (missing.length === 0) return 'kept'
    missing.sort((a, b) => a - b)
    if (missing[0] > this.#epoch && missing[0] > this.#last) {
      for (const b of missing) this.seal(b)
      return 'sealed'
    }
    this.#rebuild([...this.#seals, ...missing].sort((a, b) => a - b))
    return 'rebuilt'
  }

  /**
   * The epoch open in the store is `open` now, not the one this window was opened at: the window
   * before it (whose commit was in flight when this one started: partition-folder.ts) was resealed
   * to land, so its last seal moved. Events before this window's first seal go to `open`; seals
   * at or below it are dropped (they are the previous window's). 'rebuilt' when kept events were
   * refolded into their new epochs.
   */
  reopen(open: number): 'kept' | 'rebuilt' {
    if (open === this.#open) return 'kept'
    this.#open = open
    this.#rebuild(this.#seals.filter((s) => s > open))
    return this.#offsets.length > 0 ? 'rebuilt' : 'kept'
  }

  // Refolds the kept events with these seals (ascending, each above `open`).
  #rebuild(seals: readonly number[]): void {
    this.#tables.clear()
    this.#current = undefined
    this.#errors = []
    this.#seals = []
    this.#epoch = this.#open
    let next = 0
    for (const { records, events } of this.#batches) {
      const { offsets, starts, ends, values } = records
      let refolded = 0
      for (let i = 0; i < offsets.length; i++) {
        const offset = offsets[i]!
        const event = this.#read(values, starts[i]!, ends[i]!)
        if (typeof event === 'string') continue
        while (next < seals.length && seals[next] <= offset) this.#startEpoch(seals[next++])
        this.#foldInto(offset, event)
        refolded++
      }
      if (refolded !== events) {
        // The same bytes through the same reader give the same events: only memory handed on or
        // overwritten since (a bug) gets here, and the tables now lack or hold other events.
        throw new StrataError(
          ErrorCodes.INTERNAL,
          `a kept batch no longer reads as it did: ${refolded} events where ${events} were folded`,
        )
      }
    }
    const spans = this.#spans
    for (let i = 0; i < this.#offsets.length; i++) {
      while (next < seals.length && seals[next] <= this.#offsets[i]) this.#startEpoch(seals[next++])
      const event = this.#read(this.#chunks[spans[3 * i]]!, spans[3 * i + 1]!, spans[3 * i + 2]!)
      if (typeof event === 'string') {
        // The same bytes passed the same check when first folded: only a bug gets here.
        throw new StrataError(ErrorCodes.INTERNAL, `record at ${this.#offsets[i]} no longer parses: ${event}`)
      }
      this.#foldInto(this.#offsets[i], event)
    }
    while (next < seals.length) this.#startEpoch(seals[next++])
  }

  /** The deltas to commit: every group's state per view and epoch, encoded by its monoid. */
  deltas(): RealtimeDelta[] {
    const out: RealtimeDelta[] = []
    this.eachDelta((v, epoch, key, window, state) => {
      out.push({ view: this.#views[v]!.name, epoch, key, window, state })
    })
    return out
  }

  /** How many deltas deltas() lists (one per view, epoch, window and key). */
  get deltaCount(): number {
    let n = 0
    for (const tables of this.#tables.values()) for (const table of tables) n += table.size
    return n
  }

  /**
   * The deltas as deltas() lists them, in the same order, without an object per delta (a fold
   * thread packs them into columns: fold-thread-main.ts). `view` is the view's index.
   */
  eachDelta(visit: (view: number, epoch: number, key: string, window: number, state: unknown) => void): void {
    for (const [epoch, tables] of this.#tables) {
      for (let v = 0; v < this.#views.length; v++) {
        const { monoid } = this.#views[v]!
        tables[v]!.forEachGroup((key, window, state) => visit(v, epoch, key, window, monoid.encode(state)))
      }
    }
  }

  /** Folds an event into the tables of the current epoch. */
  #foldInto(offset: number, event: StrataEvent): void {
    let tables = this.#current
    if (tables === undefined) {
      tables = this.#tables.get(this.#epoch)
      if (tables === undefined) {
        tables = this.#views.map((v) => v.createTable() as ViewTable<unknown>)
        this.#tables.set(this.#epoch, tables)
      }
      this.#current = tables
    }
    const where = this.where
    if (where !== undefined) {
      where[0] = this.partition
      where[1] = offset
    }
    for (let v = 0; v < this.#views.length; v++) {
      if (where !== undefined) {
        where[2] = v
        where[3]!++
      }
      foldChecked(
        this.#views[v],
        tables[v] as ViewTable<any>,
        event,
        this.partition,
        offset,
        this.#recordError,
      )
    }
  }
}
