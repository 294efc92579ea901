// Cleanups that run in the reverse of their registration, as Go's t.Cleanup and Python's
// ExitStack do. node:test runs t.after hooks in the order registered and skips the rest when one
// throws: a scratch folder removed (registered first) before the role writing into it is closed
// failed with ENOTEMPTY under load, and the role's thread, never closed, kept the test file's
// process alive until the runner's timeout (a fresh-clone CI run, 2026-12-07).
import type { TestContext } from 'node:test'

type Defer = (cleanup: () => unknown) => void

// One stack per test: a helper that defers the removal of its scratch folder and the test that
// defers the close of what writes there share it, so the close runs first whoever registered it.
const stacks = new WeakMap<TestContext, Defer>()

/**
 * A `defer(fn)` for test `t`: every fn runs once the test ends, the last registered first, each
 * even if one before it threw; the first error is thrown after all ran. Every call for the same
 * `t` (a helper's, the test's) gives the same stack.
 */
export function deferrer(t: TestContext): Defer {
  const known = stacks.get(t)
  if (known) return known
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
  const defer: Defer = (cleanup) => {
    cleanups.push(cleanup)
  }
  stacks.set(t, defer)
  return defer
}
