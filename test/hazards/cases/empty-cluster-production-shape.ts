// The README's production shape on a cluster where the source topic does not exist yet (issue 11,
// "a first deployment fails"): before, every role exited with "Unknown topic". Now each role
// ensures the topic (the first creates it from the config), and events POSTed to
// `strata worker serve --ingest` are answered exactly by the speed workers, then by a batch run.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import { createAdmin } from '../../../src/log/kafka/index.ts'
import { freePort, type SpawnedStrata, spawnStrata } from '../../helpers/process.ts'
import { pageViews, waitFor, writePageviewsConfig } from '../../runtime/start-helpers.ts'
import { emptyOutcome, type HazardCase } from '../outcome.ts'
import { compareAnswers, postEvents } from '../source-play.ts'

const pgUrl = process.env.STRATA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test'

const hazard: HazardCase = {
  name: 'empty-cluster-production-shape',
  description:
    "the README's production shape (archiver, 2 speed, batch, serve --ingest) started on a missing topic",
  needsKafka: true,
  async run({ dir, brokers, short, log }) {
    const outcome = emptyOutcome()
    const topic = `hazard-${randomUUID()}`
    const schema = `hazard_${randomUUID().replaceAll('-', '').slice(0, 16)}`
    const configPath = await writePageviewsConfig(dir, topic, 2)
    const common = ['--config', configPath, '--data', join(dir, 'data'), '--brokers', brokers!]
    const store = ['--store', `${pgUrl}?schema=${schema}`]
    const port = await freePort()
    const roles: SpawnedStrata[] = []
    const admin = createAdmin({ brokers: brokers! })
    try {
      for (const role of [
        ['archiver', '--group', `${topic}-archiver`, '--segment-age', '1s'],
        ['speed', '--group', `${topic}-speed`],
        ['speed', '--group', `${topic}-speed`],
        ['batch', '--batch-interval', '3s'],
        ['serve', '--ingest', '--port', String(port)],
      ]) {
        roles.push(spawnStrata(['worker', ...role, ...common, ...store]))
      }
      const url = `http://127.0.0.1:${port}`
      await waitFor(async () => {
        const exited = roles.find((r) => r.child.exitCode !== null)
        if (exited) throw new Error(`a role exited:\n${exited.output()}`)
        // The batch worker says nothing until its first run: alive is enough.
        const ready = roles.every((r, i) => i === 3 || /running|archiving|serving on/.test(r.output()))
        return ready && (await fetch(`${url}/health`).catch(() => undefined))?.ok === true
      }, 'every role to start')
      const creators = roles.filter((r) => r.output().includes(`created topic ${topic}`)).length
      log(`every role started; ${creators} created the topic`)
      const acked = await postEvents(url, pageViews(short ? 1000 : 10_000, 5))
      const bySpeed = await compareAnswers(url, acked)
      outcome.acknowledged = acked.length
      outcome.lost = bySpeed.lost
      outcome.duplicated = bySpeed.duplicated
      outcome.summary = `5 roles started on a missing topic (${creators} created it); ${acked.length} events answered with ${bySpeed.lost} lost`
      return outcome
    } finally {
      for (const r of roles) r.child.kill('SIGTERM')
      await Promise.all(roles.map((r) => r.exited))
      for (const group of [`${topic}-speed`, `${topic}-archiver`])
        await admin.deleteGroup(group).catch(() => {})
      await admin.deleteTopic(topic).catch(() => undefined)
      await admin.deleteTopic(`${topic}.dead-letter`).catch(() => undefined)
      await admin.close()
      const client = new pg.Client({ connectionString: pgUrl })
      await client.connect()
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await client.end()
    }
  },
}

export default hazard
