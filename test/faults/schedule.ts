// Fault schedules: a pure function of (seed, index), so a failing schedule replays from its seed
// alone (`--seed S --first I --schedules 1`). Each schedule holds 2 or 3 faults of distinct kinds;
// two of them come from a seeded permutation of every kind walked in order, so any
// ceil(kinds/2) consecutive schedules inject every kind at least once, and the third is random.
// Only one broker fault per schedule: a second dead node of three would lose the KRaft quorum
// and min.insync.replicas=2, which is unavailability by design, not a fault to survive.

export const FAULT_KINDS = [
  'speed', // kill -9 of one of the two speed workers, restarted after downMs
  'archiver', // kill -9 of the archiver
  'batch-worker', // kill -9 of the scheduled batch worker
  'batch-run', // a one-off `strata batch` killed -9 after downMs, mid-run if it still runs
  'serve', // kill -9 of the serving process
  'broker', // kill -9 of the broker leading `partition`, restarted after downMs
  'postgres', // pg_ctl stop -m immediate, started again after downMs
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface Fault {
  kind: FaultKind
  /** Delay from the start of the schedule to the fault. */
  atMs: number
  /** How long the victim stays down before it is restarted (batch-run: runs before the kill). */
  downMs: number
  /** speed: which of the two workers (0|1); broker: the partition whose leader dies. */
  target: number
}

export interface Schedule {
  index: number
  seed: number
  faults: Fault[]
}

/** mulberry32: small, fast, and the same numbers on every platform. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function permutation(seed: number): FaultKind[] {
  const rand = prng(seed ^ 0x5bd1e995)
  const kinds = [...FAULT_KINDS]
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!]
  }
  return kinds
}

export function scheduleFor(seed: number, index: number, partitions: number): Schedule {
  const order = permutation(seed)
  const own = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0
  const rand = prng(own)
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1))
  const kinds: FaultKind[] = [order[(2 * index) % order.length]!, order[(2 * index + 1) % order.length]!]
  if (rand() < 0.5) {
    const rest = FAULT_KINDS.filter((k) => !kinds.includes(k))
    kinds.push(rest[Math.floor(rand() * rest.length)]!)
  }
  const faults = kinds.map((kind) => ({
    kind,
    atMs: between(300, 4000),
    downMs: kind === 'batch-run' ? between(100, 1500) : between(300, 4000),
    target: kind === 'broker' ? between(0, partitions - 1) : kind === 'speed' ? between(0, 1) : 0,
  }))
  return { index, seed, faults: faults.sort((a, b) => a.atMs - b.atMs) }
}

export function describeFault(f: Fault): string {
  const target =
    f.kind === 'broker' ? ` (leader of partition ${f.target})` : f.kind === 'speed' ? ` #${f.target}` : ''
  return `${f.kind}${target} at ${f.atMs} ms, ${f.kind === 'batch-run' ? 'killed after' : 'down'} ${f.downMs} ms`
}
