// The demo on the default data folder, then `strata start --brokers` on the same folder (issue 11,
// "state from another source reused"): before, the Kafka roles resumed from the demo's offsets
// and the process served the demo's numbers as the topic's. Now the Kafka start is refused
// (STRATA_ERR_SOURCE_MISMATCH); the way out (another --data) serves the topic's events exactly,
// and the demo's folder still answers its own events exactly.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createAdmin } from '../../../src/log/kafka/index.ts'
import { freePort } from '../../helpers/process.ts'
import { pageViews, startStrata, writePageviewsConfig } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase } from '../outcome.ts'
import { compareAnswers, countRefusal, postEvents, refusalOf } from '../source-play.ts'

const hazard: HazardCase = {
  name: 'demo-then-kafka-same-data',
  description: 'strata start on the embedded log, then strata start --brokers on the same data folder',
  needsKafka: true,
  async run({ dir, brokers, short, log }) {
    const outcome = emptyOutcome()
    const topic = `hazard-${randomUUID()}`
    const configPath = await writePageviewsConfig(dir, topic, 2)
    const data = join(dir, 'data')
    const n = short ? 400 : 4000
    const admin = createAdmin({ brokers: brokers! })
    try {
      const demo = await startStrata(dir, ['--config', configPath, '--data', data], 1)
      const demoAcked = await postEvents(demo.url, pageViews(n, 1))
      demo.child.kill('SIGTERM')
      await demo.exited
      log(`embedded: ${demoAcked.length} events acknowledged`)

      const port = String(await freePort())
      const refused = await refusalOf([
        'start',
        '--config',
        configPath,
        '--data',
        data,
        '--brokers',
        brokers!,
        '--port',
        port,
      ])
      countRefusal(outcome.refusals, refused.code)
      log(`kafka on the demo's folder: ${refused.code}`)

      const kafka = await startStrata(
        dir,
        [
          '--config',
          configPath,
          '--data',
          join(dir, 'kafka-data'),
          '--brokers',
          brokers!,
          '--group-prefix',
          topic,
        ],
        2,
      )
      const kafkaAcked = await postEvents(kafka.url, pageViews(n, 2))
      const onKafka = await compareAnswers(kafka.url, kafkaAcked)
      kafka.child.kill('SIGTERM')
      await kafka.exited

      const back = await startStrata(dir, ['--config', configPath, '--data', data], 3)
      const onDemo = await compareAnswers(back.url, demoAcked)
      back.child.kill('SIGTERM')
      await back.exited

      outcome.acknowledged = demoAcked.length + kafkaAcked.length
      outcome.lost = onKafka.lost + onDemo.lost
      outcome.duplicated = onKafka.duplicated + onDemo.duplicated
      outcome.summary = `Kafka start on the demo's folder: ${refused.code}; another --data served the topic (${kafkaAcked.length} events) and the demo folder its own (${demoAcked.length}) exactly`
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
