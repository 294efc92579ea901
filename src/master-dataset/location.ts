// Where a master dataset lives: a folder (the default) or a prefix of an S3-compatible bucket,
// `s3://bucket/prefix` (docs/master-dataset.md, "On object storage"). Parsing only: no SDK here,
// so the embedded default never loads it.
import { ErrorCodes, invalidInput } from '../core/errors.ts'

export interface ObjectLocation {
  bucket: string
  /** Key prefix without a trailing slash; '' for the bucket's root. */
  prefix: string
}

/** How a client reaches an S3-compatible store (resolved once, in cli/settings.ts). */
export interface S3Settings {
  /** An S3-compatible endpoint (S3Proxy, MinIO…); default: AWS S3 of the SDK's region. */
  endpoint?: string
  /** Path-style addressing (`endpoint/bucket/key`), which S3Proxy and MinIO-likes need. */
  forcePathStyle?: boolean
  /** Default: the SDK's (AWS_REGION, ~/.aws/config), else us-east-1. */
  region?: string
}

export function isObjectStoreUrl(location: string): boolean {
  return location.startsWith('s3://')
}

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

export function parseObjectStoreUrl(url: string): ObjectLocation {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url)
  if (!match || !bucketPattern.test(match[1]!)) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `master dataset "${url}": expected s3://<bucket>/<prefix> with a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)`,
      { field: 'master' },
    )
  }
  return { bucket: match[1]!, prefix: match[2]!.replace(/\/+$/, '') }
}

/** A location inside another: `s3://b/p` + `events` → `s3://b/p/events`; a folder joins with '/'. */
export function childLocation(location: string, name: string): string {
  return `${location.replace(/\/+$/, '')}/${name}`
}
