// Crash recovery of an active segment. Appends are acknowledged only after fsync, so everything
// acknowledged is a prefix of complete lines; what follows it was never acknowledged and may be
// torn (half a line, or zeros: room reserved ahead, or a file system that extended the file
// before writing the data). Recovery keeps the longest prefix of lines that are well-formed,
// carry consecutive offsets from the segment's start, whose event is valid JSON and whose
// checksum (when the line has one) matches, and truncates the rest, when the rest is a torn tail.
//
// The rest is damage, not a torn tail, when a valid line with a later offset follows the bad
// bytes (or a complete line fails its checksum): those are acknowledged records, and a crash
// cannot put them after a torn write. Damage is never cut: the file is copied aside
// (`<name>.damaged-<time>`) and opening refuses with SEGMENT_CORRUPT naming the file, the byte
// and the offsets, and the way out (docs/master-dataset.md, "Damaged files").
import { copyFile, open, readdir, readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { checkLine, newLineFields, scanLine } from '../../master-dataset/index.ts'
import { ACKNOWLEDGED_END_FILE } from './acknowledged-end.ts'

export interface RecoveredActive {
  /** Records kept; the next offset is start + records. */
  records: number
  /** Bytes kept (the file's new length). */
  bytes: number
  /** Bytes cut off the end. */
  truncated: number
  /** True when what was cut was zeros only (room reserved ahead of a crash). */
  zeros: boolean
}

/**
 * Validates the lines of an active segment starting at `start` and truncates a torn tail; every
 * offset below `acknowledgedEnd` (acknowledged-end.ts) must be among the lines kept.
 */
export async function recoverActive(
  path: string,
  start: number,
  partition = 0,
  acknowledgedEnd = start,
): Promise<RecoveredActive> {
  const handle = await open(path, 'r+')
  try {
    const data = await handle.readFile()
    const { records, bytes } = validPrefix(data, start)
    const damage =
      findDamage(data, bytes, start + records) ??
      lostAcknowledged(data, bytes, start + records, acknowledgedEnd)
    if (damage) {
      const copy = await quarantine(path, data)
      throw damagedSegment(partition, path, copy, start + records, bytes, damage)
    }
    if (bytes < data.length) {
      await handle.truncate(bytes)
      await handle.sync()
    }
    const zeros = data.subarray(bytes).every((b) => b === 0)
    return { records, bytes, truncated: data.length - bytes, zeros }
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
      checkLine(data, fields)
    } catch {
      break
    }
    records++
    at = nl + 1
  }
  return { records, bytes: at }
}

export interface Damage {
  /** Offsets of the valid lines found after the damaged bytes: first and last. */
  firstAfter: number
  lastAfter: number
  /** A complete line whose checksum does not match (rather than a valid line after bad bytes). */
  checksum: boolean
  /** No valid line follows, but the partition's acknowledged end is past the prefix. */
  acknowledged?: 'zeros' | 'end of file' | 'other bytes'
}

/** Damage when the prefix ends (offset `next`, byte `from`) before the acknowledged end. */
function lostAcknowledged(
  data: Buffer,
  from: number,
  next: number,
  acknowledgedEnd: number,
): Damage | undefined {
  if (next >= acknowledgedEnd) return undefined
  const rest = data.subarray(from)
  const acknowledged =
    rest.length === 0 ? 'end of file' : rest.every((b) => b === 0) ? 'zeros' : 'other bytes'
  return { firstAfter: next, lastAfter: acknowledgedEnd - 1, checksum: false, acknowledged }
}

/**
 * What follows the valid prefix (`from` bytes, next offset `next`): undefined when it is a torn
 * tail, the damage otherwise: a complete line at or after `from` with a valid envelope and an
 * offset of `next` or later (its event valid JSON), or a complete line whose checksum fails.
 */
export function findDamage(data: Buffer, from: number, next: number): Damage | undefined {
  const fields = newLineFields()
  let damage: Damage | undefined
  let at = from
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at)
    if (nl === -1) break
    // No line holds a zero byte (JSON text escapes it): a line after zeros starts after the last
    // one. Zeros over acknowledged lines, their newlines too, left the next line glued to them.
    const zero = data.subarray(at, nl).lastIndexOf(0)
    const line = zero === -1 ? at : at + zero + 1
    try {
      scanLine(data, line, nl, fields)
      if (fields.offset >= next) {
        let checksum = false
        try {
          checkLine(data, fields)
        } catch (error) {
          if ((error as StrataError).code !== ErrorCodes.SEGMENT_CORRUPT || line !== from) throw error
          checksum = true // the first line after the prefix is complete but fails its checksum
        }
        damage ??= { firstAfter: fields.offset, lastAfter: fields.offset, checksum }
        damage.lastAfter = Math.max(damage.lastAfter, fields.offset)
      }
    } catch {
      // Not a valid line: part of the damage or of a torn tail.
    }
    at = nl + 1
  }
  return damage
}

/** Copies the damaged file aside once (a supervisor restarting us must not fill the disk). */
async function quarantine(path: string, data: Buffer): Promise<string> {
  const prefix = `${basename(path)}.damaged-`
  for (const name of await readdir(dirname(path))) {
    if (name.startsWith(prefix) && (await readFile(join(dirname(path), name))).equals(data)) {
      return join(dirname(path), name)
    }
  }
  const copy = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
  await copyFile(path, copy)
  return copy
}

function damagedSegment(
  partition: number,
  path: string,
  copy: string,
  next: number,
  byte: number,
  damage: Damage,
): StrataError {
  const ackPath = join(dirname(path), ACKNOWLEDGED_END_FILE)
  const instead = {
    zeros: 'zeros are there',
    'end of file': 'the file ends there',
    'other bytes': 'no valid record is there',
  }
  const what = damage.acknowledged
    ? `${instead[damage.acknowledged]}, yet records up to offset ${damage.lastAfter} were acknowledged (${ACKNOWLEDGED_END_FILE} records it)`
    : damage.checksum
      ? `the record at offset ${next} fails its checksum`
      : `bytes there are not the record at offset ${next}, yet records up to offset ${damage.lastAfter} follow`
  return new StrataError(
    ErrorCodes.SEGMENT_CORRUPT,
    `partition ${partition}: the active segment ${basename(path)} is damaged at byte ${byte}: ${what}; acknowledged records from offset ${next} on are at risk. Nothing was cut; a copy is kept as ${basename(copy)}. ` +
      `To go on, keep the records before the damage: truncate -s ${byte} ${path} and rm ${ackPath}, then move the store aside (it is rebuilt from the master dataset); this loses offsets ${next} to ${damage.lastAfter} (see docs/master-dataset.md, "Damaged files")`,
  )
}
