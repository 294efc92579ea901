// A role run alone (`strata worker speed|batch`) has no HTTP server to say it failed. When its
// state is `failed` (core/role-health.ts: a speed partition stopped for a reason other than
// fencing, a batch layer failing run after run), it cannot recover by itself: it says why in one
// line and exits 1, so that its supervisor (systemd, Kubernetes) restarts it and shows the crash
// loop, instead of a process that runs on and does nothing. Everything it committed is in the
// store with its offsets, so a restart neither loses nor repeats anything.
import type { RoleReporter } from '../core/role-health.ts'
import type { Logger } from './logger.ts'

export function exitWhenFailed(
  role: string,
  report: RoleReporter,
  logger: Logger,
  options: { everyMs?: number; exit?: (code: number) => void } = {},
): { stop(): void } {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  let checking = false
  const timer = setInterval(async () => {
    if (checking) return
    checking = true
    try {
      const state = await report()
      if (state.state === 'failed') {
        logger.error(
          `${role} failed and cannot go on by itself: ${state.reason ?? 'no reason given'}; exiting 1`,
        )
        clearInterval(timer)
        exit(1)
      }
    } finally {
      checking = false
    }
  }, options.everyMs ?? 5000)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
