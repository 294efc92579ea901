// Parsers and input shared by several commands. Their environment fallbacks and defaults are in
// settings.ts.
import { parseTimerDuration } from '../core/duration.ts'
import { ErrorCodes, invalidInput } from '../core/errors.ts'

export function positiveInt(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        `${name} must be a positive whole number, got "${value}"`,
        {
          field: name,
        },
      )
    }
    return n
  }
}

/** A TCP port, 1 to 65535: checked here, not by listen() (whose refusal read as an internal error). */
export function port(name: string): (value: string) => number {
  const whole = positiveInt(name)
  return (value: string) => {
    const n = whole(value)
    if (n > 65535) {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        `${name} must be a port from 1 to 65535, got "${value}"`,
        {
          field: name,
        },
      )
    }
    return n
  }
}

/**
 * A flag's duration ('30s', '5m'): parseDuration's refusal, under the code of a bad argument
 * (parseDuration's own, STRATA_ERR_INVALID_VIEW, is a view window's); every flag's duration runs a
 * timer, so at most 24 days (core/duration.ts maxTimerMs).
 */
export function flagDuration(input: string, name: string): number {
  return parseTimerDuration(input, name, ErrorCodes.INVALID_ARGUMENT)
}

/** stdin's bytes (decoded by the caller, which decides what invalid UTF-8 means). */
export async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) {
    process.stderr.write('reading NDJSON from stdin (Ctrl-D to end)…\n')
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
