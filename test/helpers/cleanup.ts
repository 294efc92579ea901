// Cleanups that run in the reverse of their registration, as Go's t.Cleanup and Python's
// ExitStack do. node:test runs t.after hooks in the order registered and skips the rest when one
// throws: a scratch folder removed (registered first) before the role writing into it is closed
// failed with ENOTEMPTY under load, and the role's thread, never closed, kept the test file's
// process alive until the runner's timeout (a fresh-clone CI run, 2026-12-07).
import type { TestContext } from 'node:test'

/** A `defer(fn)` for test `t`: every fn runs once the test ends, the last registered first, each even if one before it threw; the first error is thrown after all ran. */
export function deferrer(t: TestContext): (cleanup: () => unknown) => void {
  const cleanups: Array<() => unknown> = []
  t.after(async () => {
    let first: unknown
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (error) {
        first ??= error
      }
    }
    if (first !== undefined) throw first
  })
  return (cleanup) => {
    cleanups.push(cleanup)
  }
}
