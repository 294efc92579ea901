// A node:test reporter for `npm test` (scripts/test.ts): at the end, the slowest test files, each
// the sum of its top-level tests' durations (what the file spends in its tests; its loading aside),
// so that a CI run whose test step grew says where the time went.
import { relative } from 'node:path'

interface TestEvent {
  type: string
  data: { nesting?: number; file?: string; details?: { duration_ms?: number } }
}

const SHOWN = 15

export default async function* fileTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const byFile = new Map<string, number>()
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { nesting, file, details } = event.data
    if (nesting !== 0 || file === undefined || details?.duration_ms === undefined) continue
    byFile.set(file, (byFile.get(file) ?? 0) + details.duration_ms)
  }
  const slowest = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
  if (slowest.length === 0) return
  yield `\nslowest test files (seconds in their tests):\n`
  for (const [file, ms] of slowest)
    yield `${(ms / 1000).toFixed(1).padStart(7)}  ${relative(process.cwd(), file)}\n`
}
