// Waiting on the monotonic clock the caches read (EndOffsetsCache, healthEndOffsets).
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Waits until a reading made before the call is older than `ms` on performance.now() (a timer
 * alone can fire early against it: Node starts it from the event loop's cached time, which a
 * loaded machine leaves behind, and a reading still fresh failed tests under load).
 */
export async function aged(ms: number): Promise<void> {
  const from = performance.now()
  while (performance.now() - from <= ms) await sleep(ms)
}
