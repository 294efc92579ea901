// The checksum of a segment: SHA-256 of the data file's bytes, in a sidecar in `sha256sum`
// format ("<64 hex>  <data file name>\n") so that `sha256sum -c p0003/*.sha256` checks a copy.
// SHA-256 rather than CRC32: it also catches a segment replaced by different bytes on purpose
// or by a buggy tool, and at ~1 GB/s here it costs little (the batch layer reads the packed
// encoding, which carries its own CRC32).
import { createHash } from 'node:crypto'
import { ErrorCodes, StrataError } from '../core/errors.ts'

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

export function formatChecksumFile(hex: string, dataFileName: string): Buffer {
  return Buffer.from(`${hex}  ${dataFileName}\n`)
}

const checksumLine = /^([0-9a-f]{64}) [ *](.+)\n?$/

export function parseChecksumFile(text: string, dataFileName: string): string {
  const match = checksumLine.exec(text)
  if (!match || match[2] !== dataFileName) {
    throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, `bad checksum file for segment ${dataFileName}`)
  }
  return match[1]!
}
