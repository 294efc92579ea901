// Line input and output of the task processes: stdin read as lines, stdout written with
// backpressure (a pipe to Spark's reader thread fills up; an unbounded buffer would not).
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Writable } from 'node:stream'

export function readLines(input: NodeJS.ReadableStream): AsyncIterable<string> {
  return createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
}

export async function writeLine(output: Writable, line: string): Promise<void> {
  if (!output.write(`${line}\n`)) await once(output, 'drain')
}
