// The horizon rules of docs/horizon.md as pure functions: a partition's stored state in, the
// decision out. Both stores (lmdb-speed.ts, postgres/speed.ts and speed-commit.ts) call these
// inside their transactions and keep only the reading, writing and locking, so the exactness
// argument rests on this one piece of code (test/store/speed-rules.test.ts checks each branch).
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { deltaCount, type Horizon, type SpeedCommit, type SpeedPartition, type SpeedView } from './store.ts'

export function fenced(message: string): StrataError {
  return new StrataError(ErrorCodes.FENCED, message)
}

/** `list` (ascending) with `b` added in order; undefined when `b` is in it already. */
function withBoundary(list: readonly number[], b: number): number[] | undefined {
  return list.includes(b) ? undefined : [...list, b].sort((x, y) => x - y)
}

/**
 * Rule 2 and the first claim. A claimed partition gets the next owner token (fencing the previous
 * owner). A partition never claimed starts at `initial`, one epoch there, owing the boundaries
 * batch runs aligned before anyone claimed it (`owed`); those at or below `initial` are met by
 * starting there.
 */
export function claimState(
  before: SpeedPartition | undefined,
  owed: readonly number[],
  partition: number,
  initial: number,
): SpeedPartition {
  if (before) return { ...before, owner: before.owner + 1 }
  return {
    partition,
    offset: initial,
    epochs: [initial],
    required: owed.filter((b) => b > initial),
    owner: 1,
  }
}

/** What alignHorizon decides for one partition. */
export interface Alignment {
  /** The aligned horizon: a boundary, or one the speed layer will seal at; -1 when none fits. */
  horizon: number
  /**
   * The partition's new required boundaries to store (its owed ones when unclaimed), when they
   * change; undefined: nothing to write.
   */
  required?: number[]
}

/**
 * Rule 3 for one partition: turns the wished horizon into a boundary. `state` is the claimed
 * partition (undefined when never claimed), `owed` what an unclaimed one owes its first claimer,
 * `least` the least horizon the caller accepts.
 */
export function alignPartition(
  state: SpeedPartition | undefined,
  owed: readonly number[],
  wished: number,
  least: number,
): Alignment {
  const target = Math.max(wished, least)
  if (!state) {
    // Never claimed: the first claimer starts at or below it and must seal there. At 0 nothing is
    // owed: every start is at or past it (claimState drops it).
    const required = target > 0 ? withBoundary(owed, target) : undefined
    return required ? { horizon: target, required } : { horizon: target }
  }
  if (state.epochs.includes(target)) return { horizon: target }
  if (state.offset <= target) {
    // Not reached yet: the speed layer will seal exactly there.
    const required = withBoundary(state.required, target)
    return required ? { horizon: target, required } : { horizon: target }
  }
  // The speed layer passed it without sealing: the largest boundary at or below it.
  const below = state.epochs.filter((e) => e <= target && e >= least)
  return { horizon: below.length > 0 ? below[below.length - 1] : -1 }
}

/** What registerSpeedViews does with the recorded view definitions, given the config's. */
export interface Registration {
  /** New or changed definitions: recorded with their hash, realtime states restarted. */
  restarted: Array<{ view: string; codeHash: string }>
  /** Recorded views the config no longer has: forgotten with their realtime states. */
  forgotten: string[]
}

/**
 * The recorded definitions become exactly the config's. A view the config no longer has is
 * forgotten, realtime states and all: the speed layer stops folding it, so states kept for it
 * would miss every event committed while it is absent, and a config that adds it back (same code
 * hash) would resume them past that gap. Forgotten, it comes back as a new view (restarted at the
 * current offsets, covered below them by a batch run, as any new view).
 *
 * A worker still running a config that has the view commits it, and is refused
 * (checkSpeedCommit): restarted, it reads the current config. Registration happens once per
 * start, never in a commit, so two workers do not undo each other's registration while running.
 */
export function registration(
  recorded: ReadonlyMap<string, string>,
  views: ReadonlyArray<{ view: string; codeHash: string }>,
): Registration {
  const wanted = new Set(views.map((v) => v.view))
  return {
    restarted: views.filter((v) => recorded.get(v.view) !== v.codeHash),
    forgotten: [...recorded.keys()].filter((view) => !wanted.has(view)).sort(),
  }
}

/**
 * A view definition that is new or changed restarts its realtime states at the partition's
 * current offset (0 where the speed layer never ran), which the partition must then seal at, so
 * no epoch mixes two definitions. Returns the start, and the new required boundaries to store
 * when they change.
 */
export function restartPartition(state: SpeedPartition | undefined): { start: number; required?: number[] } {
  if (!state) return { start: 0 }
  const required = state.epochs.includes(state.offset)
    ? undefined
    : withBoundary(state.required, state.offset)
  return required ? { start: state.offset, required } : { start: state.offset }
}

/**
 * Rule 6: the offset of one partition below which no query reads a realtime epoch, or undefined
 * when there is nothing to collect (no served version at all). The views still in use are
 * `running` (the batch run's config) and every recorded view: a process running another config
 * (the server, a speed worker) merges a recorded view's served version with its realtime states
 * from its horizon on. A served version of neither reads no realtime state (registration forgot
 * them). A recorded view without a served version is read from its start on: from 0 it is
 * answered from its states alone (query.ts); from a later start, the batch run that gives it a
 * version flips it at a horizon at or above its start, aligned (a boundary then held) before that
 * flip, which may come after this collection (another run, of another config, collecting now).
 *
 * The stores call this inside the transaction that collects, on the served versions and recorded
 * views as they are then: read before it, a view re-registered meanwhile (its start at or below
 * its old served horizon) would be missed, and its epochs from that horizon collected.
 */
export function collectionBound(
  served: ReadonlyArray<{ view: string; horizon: Horizon }>,
  recorded: readonly SpeedView[],
  running: readonly string[],
  partition: number,
): number | undefined {
  if (served.length === 0) return undefined
  const inUse = new Set([...running, ...recorded.map((v) => v.view)])
  const versioned = new Set(served.map((m) => m.view))
  const reads = [
    ...served.filter((m) => inUse.has(m.view)).map((m) => m.horizon[partition] ?? 0),
    ...recorded.filter((v) => !versioned.has(v.view)).map((v) => v.start[partition] ?? 0),
  ]
  return Math.min(Number.MAX_SAFE_INTEGER, ...reads)
}

/**
 * Rule 6: the epoch a partition keeps from when collecting below `bound` — an epoch ends where the
 * next begins, so the one containing `bound` and later ones stay. Undefined: nothing to drop.
 */
export function keepFrom(state: SpeedPartition | undefined, bound: number): number | undefined {
  if (!state) return undefined
  const keep = state.epochs.filter((e) => e <= bound).pop()
  return keep === undefined || keep === state.epochs[0] ? undefined : keep
}

/** The partition after its epochs below `keep` (from keepFrom) are dropped. */
export function collectedState(state: SpeedPartition, keep: number): SpeedPartition {
  return { ...state, epochs: state.epochs.filter((e) => e >= keep) }
}

/**
 * Rules 1-3 for a commit: checks it against the partition's stored state and the recorded view
 * definitions (`recorded`: every recorded view, to its code hash), and returns the partition
 * state after it. Throws FENCED for another owner, a moved offset or an unsealed required
 * boundary; CONFIG_CHANGED for a commit whose views are not exactly the recorded ones; INTERNAL
 * for a malformed commit.
 */
export function checkSpeedCommit(
  state: SpeedPartition | undefined,
  commit: SpeedCommit,
  recorded: ReadonlyMap<string, string>,
): SpeedPartition {
  const { partition, owner, from, offset, deltas, seals } = commit
  if (!state || state.owner !== owner) {
    throw fenced(
      `partition ${partition} is owned by another speed worker (token ${state?.owner}, not ${owner})`,
    )
  }
  if (state.offset !== from) {
    throw fenced(`partition ${partition} is at offset ${state.offset}, not ${from}: another writer moved it`)
  }
  // Not fencing: the partition is still ours, but this worker runs a definition another worker
  // replaced, and will until it is restarted with the current config. Its own code, so that the
  // partition it stops is reported failed, not handed over (nobody else would fold it).
  for (const [view, codeHash] of Object.entries(commit.hashes)) {
    if (recorded.get(view) !== codeHash) {
      throw new StrataError(
        ErrorCodes.CONFIG_CHANGED,
        `partition ${partition}: view ${view} is defined differently now (another speed worker started with another config); restart this speed worker with the current config`,
      )
    }
  }
  // The offset moves for every recorded view: a commit that does not fold one of them (a worker
  // whose config predates it) would pass its events, which would then count for it zero times.
  for (const view of recorded.keys()) {
    if (!Object.hasOwn(commit.hashes, view)) {
      throw new StrataError(
        ErrorCodes.CONFIG_CHANGED,
        `partition ${partition}: view ${view} is in the config now (another speed worker started with another config) but not folded by this worker; restart this speed worker with the current config`,
      )
    }
  }
  // Rule 3: a required boundary in (from, offset] must be sealed by this commit — or, when it
  // equals `from`, it must already start an epoch.
  const open = state.epochs[state.epochs.length - 1]
  for (const b of state.required) {
    const unsealed = !seals.includes(b) && ((b === from && open !== from) || (b > from && b <= offset))
    if (unsealed) throw fenced(`partition ${partition}: required boundary ${b} was not sealed`)
  }
  const epochs = [...state.epochs]
  for (const seal of seals) {
    if (seal < from || seal > offset || seal <= epochs[epochs.length - 1]) {
      throw new StrataError(
        ErrorCodes.INTERNAL,
        `partition ${partition}: bad seal ${seal} in [${from}, ${offset}]`,
      )
    }
    epochs.push(seal)
  }
  const writable = new Set([open, ...seals])
  const n = deltaCount(deltas)
  // Every delta's epoch is checked; a run of deltas in the epoch just checked (a window holds
  // one or a few epochs) is checked by one comparison rather than a Set lookup each.
  let checked = Number.NaN
  for (let i = 0; i < n; i++) {
    const epoch = Array.isArray(deltas) ? deltas[i]!.epoch : deltas.epochs[i]!
    if (epoch === checked) continue
    if (!writable.has(epoch)) {
      throw new StrataError(ErrorCodes.INTERNAL, `partition ${partition}: delta for closed epoch ${epoch}`)
    }
    checked = epoch
  }
  return { ...state, offset, epochs, required: state.required.filter((b) => b > offset) }
}

/**
 * Whether a delta a store logged (and has not folded into its states yet) still counts: a store
 * that keeps each commit's deltas as a log and folds them into its states later (lmdb-speed-log.ts)
 * must read, and fold, exactly the deltas it would still hold had it written them into its states
 * at once. Those it would have dropped since are the epochs rule 6 collected (below the
 * partition's first epoch) and, for a view whose definition changed, every epoch before its
 * realtime states restarted (`registerSpeedViews`: the old definition's epochs all end at or
 * before `start[p]`, the new one's begin there).
 */
export function deltaCounts(
  state: SpeedPartition | undefined,
  view: SpeedView | undefined,
  partition: number,
  epoch: number,
): boolean {
  if (state === undefined || view === undefined) return false
  return epoch >= (state.epochs[0] ?? 0) && epoch >= (view.start[partition] ?? 0)
}

/** What the compactor does with a logged delta (lmdb-compactor.ts). */
export type LoggedDeltaFate = 'fold' | 'drop' | 'keep'

/**
 * The compactor never stops at a delta it cannot fold. A delta that no longer counts
 * (deltaCounts: its epoch was collected, its view redefined or forgotten) is dropped: no reader
 * counts it, so nothing is lost. One that counts is folded when this process knows its view's
 * combine (`combinable`), and otherwise kept in the log, in its place, for a process that does
 * (another speed worker on the same store, running a config with that view): readers count it
 * there meanwhile, and the rest of its row and the rows after it are folded all the same.
 */
export function loggedDeltaFate(
  state: SpeedPartition | undefined,
  view: SpeedView | undefined,
  partition: number,
  epoch: number,
  combinable: boolean,
): LoggedDeltaFate {
  if (!deltaCounts(state, view, partition, epoch)) return 'drop'
  return combinable ? 'fold' : 'keep'
}
