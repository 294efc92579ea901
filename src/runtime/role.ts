// The roles a Strata process can run, in a file of their own: the public API's types
// (strata-options.ts) name them without pulling in the composition's (pipeline.ts), whose
// declarations reach the Kafka client's.
export type Role = 'serve' | 'archiver' | 'speed' | 'batch'
export const ROLES: readonly Role[] = ['speed', 'batch', 'archiver', 'serve']

/**
 * How long close() waits for a role thread's own close (role-thread.ts). Once (s13-user, from the user's seat) a
 * `strata start` whose view's code never returned, told to stop, never ended, and — still a
 * member of its consumer groups — kept them from assigning partitions to anyone else (other
 * topics' archivers in `strata-archiver` got none and said running) until a kill -9; the test
 * shows close() waiting for ever on a fold that never returns. Past this the thread is
 * terminated: nothing uncommitted was acknowledged to anyone, and the next owner resumes from the
 * offsets stored with the state (the archiver rewrites a segment it had not committed whole).
 * The same bound holds the embedded speed layer's fold thread and a batch run's worker threads
 * (roles.ts; s14-hang). Here, beside the roles, so that role-thread.ts and roles.ts both reach it.
 */
export const CLOSE_TIMEOUT_MS = 60_000

/**
 * The speed layer is stalled once a fold has not returned for half the hang timeout
 * (`--hang-timeout`, default CLOSE_TIMEOUT_MS: 30 s): the fresh answers wait on it, so it is
 * said sooner than the batch layer's (role-reporters.ts).
 */
export function speedHangMs(hangTimeoutMs: number = CLOSE_TIMEOUT_MS): number {
  return Math.floor(hangTimeoutMs / 2)
}
