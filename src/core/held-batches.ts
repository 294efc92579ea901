// A role's batches behind a hold (runtime/ingest-burst.ts: `strata start`'s roles wait while
// POST /events bursts): `hold()` is asked before each batch; undefined lets it through at once,
// a promise makes that batch, and so the partition's next fetch, wait until it resolves.

/** A hold: undefined to go on now, or a promise of when to. */
export type Hold = () => Promise<void> | undefined

/** Calls `hold` before each `onBatch` and handles the batch once it allows. */
export function heldBatches<B>(
  onBatch: (batch: B) => Promise<void>,
  hold: Hold | undefined,
): (batch: B) => Promise<void> {
  if (hold === undefined) return onBatch
  return (batch) => {
    const wait = hold()
    return wait === undefined ? onBatch(batch) : wait.then(() => onBatch(batch))
  }
}
