// The source topic deleted and created again under the same name (issue 11): before, the roles
// resumed the old topic's offsets in the new one ("Offset out of range", or silently skipping
// the new topic's first records) while serving the old numbers. Now the start is refused
// (STRATA_ERR_SOURCE_MISMATCH, naming both topic ids); the documented way out, strata reset,
// lets the same --data serve the new topic's events exactly.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createAdmin } from '../../../src/log/kafka/index.ts'
import { freePort, spawnStrata } from '../../helpers/process.ts'
import { pageViews, startStrata, waitFor, writePageviewsConfig } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase } from '../outcome.ts'
import { compareAnswers, countRefusal, postEvents, refusalOf } from '../source-play.ts'

const hazard: HazardCase = {
  name: 'topic-recreated',
  description: 'the source topic deleted and recreated (same name, new topic id) under a running deployment',
  needsKafka: true,
  async run({ dir, brokers, short, log }) {
    const outcome = emptyOutcome()
    const topic = `hazard-${randomUUID()}`
    const configPath = await writePageviewsConfig(dir, topic, 2)
    const args = [
      '--config',
      configPath,
      '--data',
      join(dir, 'data'),
      '--brokers',
      brokers!,
      '--group-prefix',
      topic,
    ]
    const n = short ? 400 : 4000
    const admin = createAdmin({ brokers: brokers! })
    try {
      const first = await startStrata(dir, args, 1)
      const oldAcked = await postEvents(first.url, pageViews(n, 3))
      const onOld = await compareAnswers(first.url, oldAcked)
      first.child.kill('SIGTERM')
      await first.exited
      const oldId = (await admin.describeTopic(topic)).id
      await admin.deleteTopic(topic)
      await waitFor(async () => {
        try {
          await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 })
          return (await admin.describeTopic(topic)).id !== oldId
        } catch {
          return false
        }
      }, 'the topic to be created again')
      log(`topic recreated: ${oldId} -> ${(await admin.describeTopic(topic)).id}`)

      const refused = await refusalOf(['start', ...args, '--port', String(await freePort())])
      countRefusal(outcome.refusals, refused.code)
      log(`start on the recreated topic: ${refused.code}`)

      const reset = spawnStrata(['reset', ...args.slice(0, 4), '--yes'])
      if ((await reset.exited) !== 0) throw new Error(`strata reset failed: ${reset.output()}`)
      const second = await startStrata(dir, args, 2)
      const newAcked = await postEvents(second.url, pageViews(n, 4))
      const onNew = await compareAnswers(second.url, newAcked)
      second.child.kill('SIGTERM')
      await second.exited

      outcome.acknowledged = oldAcked.length + newAcked.length
      // The old topic's events left with the topic its user deleted: not lost by Strata.
      outcome.lost = onOld.lost + onNew.lost
      outcome.duplicated = onOld.duplicated + onNew.duplicated
      outcome.summary = `restart on the recreated topic: ${refused.code}; after strata reset the new topic's ${newAcked.length} events were served exactly`
      return outcome
    } finally {
      for (const group of [`${topic}-speed`, `${topic}-archiver`])
        await admin.deleteGroup(group).catch(() => {})
      await admin.deleteTopic(topic).catch(() => undefined)
      await admin.close()
    }
  },
}

export default hazard
