// Crash recovery of an active segment. Appends are acknowledged only after fsync, so everything
// acknowledged is a prefix of complete lines; what follows it was never acknowledged and may be
// torn (half a line, or zeros where a file system extended the file before writing the data).
// Recovery keeps the longest prefix of lines that are well-formed, carry consecutive offsets
// from the segment's start and whose event is valid JSON, and truncates the rest.
import { open } from 'node:fs/promises'
import { newLineFields, scanLine } from '../../archive/segment-format.ts'

export interface RecoveredActive {
  /** Records kept; the next offset is start + records. */
  records: number
  /** Bytes kept (the file's new length). */
  bytes: number
  /** Bytes cut off the end. */
  truncated: number
}

/** Validates the lines of an active segment starting at `start` and truncates a torn tail. */
export async function recoverActive(path: string, start: number): Promise<RecoveredActive> {
  const handle = await open(path, 'r+')
  try {
    const data = await handle.readFile()
    const { records, bytes } = validPrefix(data, start)
    if (bytes < data.length) {
      await handle.truncate(bytes)
      await handle.sync()
    }
    return { records, bytes, truncated: data.length - bytes }
  } finally {
    await handle.close()
  }
}

/** The longest prefix of complete, valid, consecutive lines. */
export function validPrefix(data: Buffer, start: number): { records: number; bytes: number } {
  const fields = newLineFields()
  let records = 0
  let at = 0
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at)
    if (nl === -1) break
    try {
      scanLine(data, at, nl, fields)
      if (fields.offset !== start + records) break
      JSON.parse(data.toString('utf8', fields.eventStart, fields.eventEnd))
    } catch {
      break
    }
    records++
    at = nl + 1
  }
  return { records, bytes: at }
}
