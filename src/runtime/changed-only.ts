// A role thread's stats cross to the main thread only when they changed (role-thread-main.ts).
// Posted every statsEveryMs whatever they held, an idle `strata start` woke its serving thread
// 20 times a second (the speed layer's and the archiver's threads, 10 each) to replace the stats
// with equal ones, and each role thread cloned them as often: small work, but on the thread that
// answers queries, between requests (BENCHMARKS.md, Query, session 19). Unchanged stats are
// already on the main thread, so stats() there stays as current as before.
//
// Compared as JSON: stats are plain data (numbers, strings, arrays, null). A change JSON cannot
// see (undefined ↔ absent, NaN ↔ null) is not posted until something else changes with it.

/** `send`, called only with a value whose JSON differs from the last one sent (the first always). */
export function changedOnly<T>(send: (value: T) => void): (value: T) => void {
  let last: string | undefined
  return (value) => {
    const text = JSON.stringify(value)
    if (text === last) return
    last = text
    send(value)
  }
}
