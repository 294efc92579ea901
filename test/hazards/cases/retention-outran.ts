// Kafka's retention deleting records before the archiver and the speed layer read them (issue 11):
// before, the roles logged "Offset out of range" and the process kept serving, half-alive, the
// numbers without them. Now the restarted deployment exits 1 with STRATA_ERR_RETENTION_OUTRAN and
// the exact count, and after the documented way out (strata reset) every event Kafka still holds
// is answered exactly. Records retention deleted are the topic's policy, not a Strata loss: the
// summary gives their number and whether the refusal named it exactly.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createAdmin, createProducer } from '../../../src/log/kafka/index.ts'
import { freePort, spawnStrata } from '../../helpers/process.ts'
import { pageViews, startStrata, writePageviewsConfig } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase } from '../outcome.ts'
import { compareAnswers, countRefusal, postEvents, refusalOf } from '../source-play.ts'

const hazard: HazardCase = {
  name: 'retention-outran',
  description: "records deleted by Kafka's retention before the archiver and speed layer read them",
  needsKafka: true,
  async run({ dir, brokers, short, log }) {
    const outcome = emptyOutcome()
    const topic = `hazard-${randomUUID()}`
    const configPath = await writePageviewsConfig(dir, topic, 1)
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
    const n = short ? 300 : 3000
    const admin = createAdmin({ brokers: brokers! })
    try {
      const first = await startStrata(dir, [...args, '--segment-age', '1s'], 1)
      const read = await postEvents(first.url, pageViews(n, 6))
      await compareAnswers(first.url, read)
      first.child.kill('SIGTERM')
      await first.exited
      // A producer that keeps writing while the deployment is down, then retention passes.
      const producer = createProducer({ brokers: brokers! })
      const unread = pageViews(n, 7)
      await producer.send(
        topic,
        unread.map((e) => ({ value: JSON.stringify(e) })),
      )
      await producer.close()
      const end = (await admin.listOffsets(topic))[0]!.latest
      await admin.deleteRecords(topic, 0, end - 50) // retention: all but the last 50 records
      const deleted = end - 50 - read.length

      const refused = await refusalOf(['start', ...args, '--port', String(await freePort())])
      countRefusal(outcome.refusals, refused.code)
      const named = refused.output.includes(`deleted ${deleted} records before they were read`)
      log(`restart: ${refused.code}, count ${named ? 'exact' : 'NOT exact'} (${deleted} deleted unread)`)

      const reset = spawnStrata(['reset', ...args.slice(0, 4), '--yes'])
      if ((await reset.exited) !== 0) throw new Error(`strata reset failed: ${reset.output()}`)
      const after = await startStrata(dir, args, 3)
      const kept = unread.slice(-50)
      const onKept = await compareAnswers(after.url, kept, end)
      after.child.kill('SIGTERM')
      await after.exited

      outcome.acknowledged = read.length + unread.length
      outcome.lost = onKept.lost
      outcome.duplicated = onKept.duplicated
      outcome.silentStalls = refused.code === 'STRATA_ERR_RETENTION_OUTRAN' ? 0 : 1
      outcome.summary = `${deleted} records deleted unread: restart refused with ${refused.code} (count ${named ? 'exact' : 'wrong'}); after strata reset the 50 records Kafka kept were answered exactly`
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
