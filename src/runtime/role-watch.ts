// Every role's state, watched from inside its process (every 5 s), for two jobs:
//
// - The log says when a role's state changes (core/role-health.ts): a warning when it becomes
//   degraded or stalled, with why (a partition Kafka cannot serve, commits failing, a batch run
//   failed), an error when failed, a line when it is back. A process whose /health nobody polls
//   (`strata worker speed`) says it too.
// - A role run alone (`strata worker speed|batch`, `exitOnFailed`) has no HTTP server to say it
//   failed. When its state is `failed` (a speed partition stopped for a reason other than
//   fencing, a batch layer failing run after run), it cannot recover by itself: it says why in one
//   line, closes the role (at most SETTLE_MS: what it was still writing lands, a view stop
//   among it) and exits 1, so that its supervisor (systemd, Kubernetes) restarts it and shows the
//   crash loop, instead of a process that runs on and does nothing. Everything it committed is in
//   the store with its offsets, so a restart neither loses nor repeats anything.
import type { RoleReporter, RoleState } from '../core/role-health.ts'
import type { Logger } from './logger.ts'

export interface RoleWatchOptions {
  everyMs?: number
  /** Exit 1 once the role is failed (a role run alone); else only log. */
  exitOnFailed?: boolean
  exit?: (code: number) => void
  /**
   * Run before that exit, for at most `settleMs`: the role's close, so that what it still writes
   * lands first. A speed partition a view stopped is failed at once, while the store is still
   * recording the stop (partition-folder.ts, #recordingStop; a PostgreSQL round trip, a busy
   * disk): an exit then lost it, and until the restart met the view's throw again every process
   * serving that store showed the view as healthy. The close flushes each folder, which waits for
   * its stop to be recorded.
   */
  settle?: () => Promise<unknown>
  settleMs?: number
}

/** How long an exit waits for the role's close (a close stuck on a store that hangs is cut off). */
export const SETTLE_MS = 10_000

export function watchRole(
  role: string,
  report: RoleReporter,
  logger: Logger,
  options: RoleWatchOptions = {},
): { stop(): void } {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  let checking = false
  let last: RoleState = 'running'
  let saidAt = 0
  const timer = setInterval(async () => {
    if (checking) return
    checking = true
    try {
      const { state, reason } = await report()
      if (state === 'failed' && options.exitOnFailed) {
        logger.error(`${role} failed and cannot go on by itself: ${reason ?? 'no reason given'}; exiting 1`)
        clearInterval(timer)
        await settled(options.settle, options.settleMs ?? SETTLE_MS)
        exit(1)
        return
      }
      // A change is said at once; a trouble that lasts, again every REPEAT_MS (its reason counts on).
      const now = Date.now()
      const changed = state !== last || (isTrouble(state) && now - saidAt >= REPEAT_MS)
      if (changed) {
        saidAt = now
        if (state === 'failed') logger.error(`${role} failed: ${reason ?? 'no reason given'}`)
        else if (isTrouble(state)) logger.warn(`${role} ${state}: ${reason ?? 'no reason given'}`)
        else if (isTrouble(last) || last === 'failed') logger.info(`${role} ${state} again`)
      }
      last = state
    } catch {
      // A reporter that throws is reported by /health itself; the watch tries again next time.
    } finally {
      checking = false
    }
  }, options.everyMs ?? 5000)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

const REPEAT_MS = 60_000

function settled(settle: (() => Promise<unknown>) | undefined, ms: number): Promise<unknown> {
  if (settle === undefined) return Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  const cut = new Promise((resolve) => {
    timer = setTimeout(resolve, ms)
  })
  return Promise.race([settle().catch(() => undefined), cut]).finally(() => clearTimeout(timer))
}

function isTrouble(state: RoleState): boolean {
  return state === 'degraded' || state === 'stalled'
}
