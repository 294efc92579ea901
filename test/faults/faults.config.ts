// The views the fault suite checks. Every event is { k, id, v, ts } with a unique id, so a lost
// or a doubled event shows in each view:
// - events_by_key counts per key (a net count per key);
// - value_by_key sums v = id per key (a wrong sum per key);
// - events_by_second gives every event a one-second window of its own (ts = BASE + id s), so its
//   count per window names exactly which event is missing (0) or counted twice (2).
import { count, defineConfig, sum, tumbling, view } from '../../src/config.ts'

export const FAULTS_TOPIC = 'faults'
export const FAULTS_PARTITIONS = 4

export default defineConfig({
  source: { topic: FAULTS_TOPIC, partitions: FAULTS_PARTITIONS, replicationFactor: 3, time: 'ts' },
  views: [
    view('events_by_key')
      .key((e) => e.k)
      .aggregate(count()),
    view('value_by_key')
      .key((e) => e.k)
      .aggregate(sum((e) => e.v)),
    view('events_by_second')
      .key((e) => e.k)
      .window(tumbling('1s'))
      .aggregate(count()),
  ],
})
