// Parsers and input shared by several commands. Their environment fallbacks and defaults are in
// settings.ts.
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

/** stdin's bytes (decoded by the caller, which decides what invalid UTF-8 means). */
export async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) {
    process.stderr.write('reading NDJSON from stdin (Ctrl-D to end)…\n')
  }
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
