// The checks every store applies to a speed commit, inside its transaction, before writing
// anything (docs/horizon.md, rules 1-3). One implementation for LMDB and PostgreSQL, so the
// exactness argument rests on one piece of code.
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { SpeedCommit, SpeedPartition } from './store.ts'

export function fenced(message: string): StrataError {
  return new StrataError(ErrorCodes.FENCED, message)
}

/**
 * Checks a commit against the partition's stored state and the recorded view definitions, and
 * returns the partition state after it. Throws FENCED for another owner, a moved offset, an older
 * view definition or an unsealed required boundary; INTERNAL for a malformed commit.
 */
export function checkSpeedCommit(
  state: SpeedPartition | undefined,
  commit: SpeedCommit,
  recordedHash: (view: string) => string | undefined,
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
  for (const [view, codeHash] of Object.entries(commit.hashes)) {
    if (recordedHash(view) !== codeHash) {
      throw fenced(
        `view ${view} is defined differently now; restart the speed worker with the current config`,
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
  for (const { epoch } of deltas) {
    if (!writable.has(epoch)) {
      throw new StrataError(ErrorCodes.INTERNAL, `partition ${partition}: delta for closed epoch ${epoch}`)
    }
  }
  return { ...state, offset, epochs, required: state.required.filter((b) => b > offset) }
}
