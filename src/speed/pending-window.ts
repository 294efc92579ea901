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
// same reason.
import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { StrataEvent } from '../core/event.ts'
import type { RecordReader } from '../core/projected-check.ts'
import { foldChecked, type ViewFoldError } from '../core/view-errors.ts'
import type { ViewTable } from '../core/view-table.ts'
import type { DeltaColumns, RealtimeDelta } from '../store/store.ts'

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
  /** Start of the epoch that is open in the store: deltas before the first seal go there. */
  readonly open: number
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
  #seals: number[] = []
  #end: number
  #epoch: number
  #tables = new Map<number, ViewTable<unknown>[]>()

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
    this.open = open
    this.#end = from
    this.#epoch = open
  }

  /**
   * In a fold thread: the shared slots the thread says where it is folding in (fold-protocol.ts):
   * partition, offset and the index of the view in hand, so a view that never returns can be
   * named, and a step counted per view applied, so a slow one is seen to advance (a rebuild too).
   */
  where: Float64Array | undefined

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
    return this.#offsets.length
  }

  /** Records taken in that count toward the commit policy: the events. */
  get taken(): number {
    return this.#offsets.length
  }

  /** The deltas, errors and event count a commit carries. */
  contents(): WindowContents {
    return { deltas: this.deltas(), errors: [...this.#errors], events: this.#offsets.length }
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
    const last = this.#offsets.at(-1)
    if (last !== undefined && at <= last) {
      throw new StrataError(ErrorCodes.INTERNAL, `cannot seal at ${at}: a record at ${last} is folded`)
    }
    this.#startEpoch(at)
  }

  #startEpoch(at: number): void {
    this.#seals.push(at)
    this.#epoch = at
  }

  /**
   * Folds a valid event (its record is chunk[start, end), which the reader found to be an event);
   * `offset` must be at or past `end`.
   */
  fold(offset: number, event: StrataEvent, chunk: Buffer, start = 0, end = chunk.length): void {
    this.#offsets.push(offset)
    const chunks = this.#chunks
    if (chunks.length === 0 || chunks[chunks.length - 1] !== chunk) chunks.push(chunk)
    this.#spans.push(chunks.length - 1, start, end)
    this.#end = offset + 1
    this.#foldInto(this.#epoch, offset, event)
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
    const last = this.#offsets.at(-1) ?? Number.NEGATIVE_INFINITY
    if (missing[0] > this.#epoch && missing[0] > last) {
      for (const b of missing) this.seal(b)
      return 'sealed'
    }
    this.#rebuild([...this.#seals, ...missing].sort((a, b) => a - b))
    return 'rebuilt'
  }

  // Refolds the kept events with these seals (ascending, each above `open`).
  #rebuild(seals: readonly number[]): void {
    this.#tables.clear()
    this.#errors = []
    this.#seals = []
    this.#epoch = this.open
    let next = 0
    const spans = this.#spans
    for (let i = 0; i < this.#offsets.length; i++) {
      while (next < seals.length && seals[next] <= this.#offsets[i]) this.#startEpoch(seals[next++])
      const event = this.#read(this.#chunks[spans[3 * i]]!, spans[3 * i + 1]!, spans[3 * i + 2]!)
      if (typeof event === 'string') {
        // The same bytes passed the same check when first folded: only a bug gets here.
        throw new StrataError(ErrorCodes.INTERNAL, `record at ${this.#offsets[i]} no longer parses: ${event}`)
      }
      this.#foldInto(this.#epoch, this.#offsets[i], event)
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

  #foldInto(epoch: number, offset: number, event: StrataEvent): void {
    let tables = this.#tables.get(epoch)
    if (tables === undefined) {
      tables = this.#views.map((v) => v.createTable() as ViewTable<unknown>)
      this.#tables.set(epoch, tables)
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
