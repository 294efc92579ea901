// `strata produce --topic T`: NDJSON from stdin to a Kafka topic, with the same validation as
// POST /events. Every line is checked before anything is sent; bad lines are reported (code,
// line, message) and nothing is written. The topic is created when missing.
import type { Command } from 'commander'
import { isStrataError } from '../../core/errors.ts'
import { createIngest } from '../../ingest/ingest.ts'
import { createKafkaSink } from '../../ingest/kafka-sink.ts'
import { BatchRejected, decodeInput } from '../../ingest/parse.ts'
import { positiveInt, readStdin } from '../options.ts'
import { defaultBrokers, resolveBrokers } from '../settings.ts'

interface ProduceFlags {
  topic: string
  brokers?: string
  time: string
  keyField?: string
  partitions: number
  replicationFactor?: number
}

export function registerProduceCommand(program: Command): void {
  program
    .command('produce')
    .description('send NDJSON events from stdin to a Kafka topic (acks=all, idempotent)')
    .requiredOption('-t, --topic <topic>', 'the topic to write to')
    .option(
      '-b, --brokers <list>',
      `bootstrap brokers, comma-separated (env STRATA_BROKERS; default ${defaultBrokers})`,
    )
    .option('--time <field>', 'the event-time field every event must carry', 'ts')
    .option('-k, --key-field <field>', 'use this event field as the record key')
    .option(
      '-p, --partitions <n>',
      'partitions when the topic has to be created',
      positiveInt('--partitions'),
      6,
    )
    .option(
      '-r, --replication-factor <n>',
      'replication factor when the topic has to be created (default: min(3, number of brokers given))',
      positiveInt('--replication-factor'),
    )
    .addHelpText(
      'after',
      `
Each line of stdin is one JSON event. Every line is validated first; if any is bad, each bad
line is printed to stderr as {"error":{"code","message","line"}} and nothing is sent.
On success prints {"topic","count","partitions":{"<p>":{"first","last","count"}}}.

Example:
  echo '{"type":"page_view","url":"/a","user":"u1","ts":1764000000000}' | strata produce --topic events`,
    )
    .action(async (flags: ProduceFlags) => {
      const input = await readStdin()
      // Connects lazily: bad input is reported without touching Kafka.
      const sink = createKafkaSink({
        brokers: resolveBrokers(flags.brokers) ?? defaultBrokers,
        topic: flags.topic,
        partitions: flags.partitions,
        replicationFactor: flags.replicationFactor,
      })
      try {
        const ingest = createIngest({
          sink,
          timeField: flags.time,
          keyField: flags.keyField,
          maxEvents: Infinity,
        })
        let accepted: ReturnType<typeof ingest.parse>
        try {
          accepted = ingest.parse(decodeInput(input), { maxErrors: 20 })
        } catch (error) {
          const errors =
            error instanceof BatchRejected ? error.errors : isStrataError(error) ? [error] : undefined
          if (!errors) throw error
          for (const e of errors) console.error(JSON.stringify(e.toJSON()))
          // An empty stdin is refused with no line (STRATA_ERR_EMPTY_BATCH): it is not a bad line.
          const badLines = errors.filter((e) => e.line !== undefined).length
          const what =
            badLines === 0
              ? 'no events on stdin (one JSON event per line)'
              : `${badLines === 20 ? 'at least ' : ''}${badLines} bad line(s)`
          console.error(`strata produce: ${what}; nothing was sent`)
          process.exitCode = 1
          return
        }
        // A failed write is Kafka's, not a bad line: it ends the command with its own code and
        // message, which say whether a record may have been written (a delivery timeout).
        const result = await ingest.write(accepted)
        const partitions: Record<string, { first: number; last: number; count: number }> = {}
        for (const { partition, offset } of result.records) {
          partitions[partition] ??= { first: offset, last: offset, count: 0 }
          const p = partitions[partition]
          p.first = Math.min(p.first, offset)
          p.last = Math.max(p.last, offset)
          p.count++
        }
        console.log(JSON.stringify({ topic: flags.topic, count: result.count, partitions }))
      } finally {
        await sink.close()
      }
    })
}
