// A child process for the archiver's kill -9 test: archives a topic until killed.
//   node test/archive/archiver-child.ts <dir> <topic> <group> <brokers>
import { startKafkaArchiver } from '../../src/archive/kafka-archiver.ts'

const [dir, topic, groupId, brokers] = process.argv.slice(2) as [string, string, string, string]
const archiver = await startKafkaArchiver({
  master: dir,
  topic,
  groupId,
  brokers,
  maxSegmentRecords: 40,
  maxSegmentAgeMs: 300,
  sessionTimeoutMs: 6_000,
  maxWaitMs: 100,
  onError: (error) => {
    console.error(`archiver failed: ${error.message}`)
    process.exit(1)
  },
})
process.stdout.write('started\n')
// SIGTERM: write the open segments and leave the group (SIGKILL is the crash under test).
process.once('SIGTERM', () => {
  archiver.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
