// The few object operations the master dataset needs, on @aws-sdk/client-s3 (loaded here, and
// this file is imported only for an s3:// location: the folder default never pays for the SDK).
// Credentials come from the SDK's default provider chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE and ~/.aws files, web identity, instance roles); the endpoint and path-style
// addressing from S3Settings (cli/settings.ts: STRATA_S3_ENDPOINT or AWS_ENDPOINT_URL).
//
// Every failure becomes one of three codes: MASTER_UNAVAILABLE (retriable: refused, reset, timed
// out, 5xx, throttled), MASTER_AUTH (credentials refused or missing) and MASTER_STORAGE (anything
// else, such as no such bucket). Messages name the bucket and the operation, never a credential:
// an auth failure keeps no SDK error as its cause (a request's headers carry the signature).
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { ObjectLocation, S3Settings } from '../location.ts'

export interface ObjectStore {
  readonly bucket: string
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Buffer | undefined>
  /** Creates the object unless the key exists (`If-None-Match: *`); false when it existed. */
  putIfAbsent(key: string, body: Buffer): Promise<boolean>
  /** Keys under `prefix` (all pages), or with `delimiter` the common prefixes below it. */
  list(prefix: string, delimiter?: string): Promise<string[]>
  close(): void
}

export function createObjectStore(location: ObjectLocation, settings: S3Settings = {}): ObjectStore {
  const client = new S3Client({
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
    region: settings.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    // A store that is down is retried by the caller (the archiver backs off; a batch run fails).
    maxAttempts: 2,
  })
  const { bucket } = location
  const where = (op: string, key: string) => `${op} s3://${bucket}/${key}`
  return {
    bucket,
    async get(key) {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
        return Buffer.from(await answer.Body!.transformToByteArray())
      } catch (error) {
        if (error instanceof NoSuchKey || statusOf(error) === 404) {
          if ((error as { name?: string }).name !== 'NoSuchBucket') return undefined
        }
        throw objectStoreError(error, where('GET', key), bucket)
      }
    },
    async putIfAbsent(key, body) {
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' }))
        return true
      } catch (error) {
        // 412: the key exists. 409: a concurrent write of the key is under way (AWS S3): the
        // caller reads what is there, as after a 412, and a missing object reads as a conflict.
        const status = statusOf(error)
        if (status === 412 || status === 409) return false
        throw objectStoreError(error, where('PUT', key), bucket)
      }
    },
    async list(prefix, delimiter) {
      const keys: string[] = []
      let token: string | undefined
      do {
        try {
          const page = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ContinuationToken: token,
              ...(delimiter ? { Delimiter: delimiter } : {}),
            }),
          )
          if (delimiter) for (const p of page.CommonPrefixes ?? []) keys.push(p.Prefix!)
          else for (const o of page.Contents ?? []) keys.push(o.Key!)
          token = page.IsTruncated ? page.NextContinuationToken : undefined
        } catch (error) {
          throw objectStoreError(error, where('LIST', prefix), bucket)
        }
      } while (token)
      return keys
    },
    close() {
      client.destroy()
    },
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as S3ServiceException).$metadata?.httpStatusCode
}

const authNames = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
])

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
])

/** The StrataError for an SDK failure (see the top of this file). */
export function objectStoreError(error: unknown, doing: string, bucket: string): StrataError {
  const e = error as S3ServiceException & { code?: string; errno?: number }
  const status = statusOf(error)
  const name = e?.name ?? 'Error'
  if (status === 401 || status === 403 || authNames.has(name)) {
    return new StrataError(
      ErrorCodes.MASTER_AUTH,
      `${doing}: the object store refused our credentials or access (${name}${status ? ` ${status}` : ''}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's policy`,
    )
  }
  const code = e?.code ?? (e as { cause?: { code?: string } })?.cause?.code
  if (
    (status !== undefined && status >= 500) ||
    name === 'TimeoutError' ||
    name === 'SlowDown' ||
    (code !== undefined && unreachableCodes.has(code)) ||
    (status === undefined && /ECONNREFUSED|ENOTFOUND|socket hang up|timed? ?out/i.test(String(e?.message)))
  ) {
    return new StrataError(
      ErrorCodes.MASTER_UNAVAILABLE,
      `${doing}: the object store does not answer (${code ?? name}${status ? ` ${status}` : ''})`,
      { retriable: true, cause: error },
    )
  }
  if (name === 'NoSuchBucket') {
    return new StrataError(
      ErrorCodes.MASTER_STORAGE,
      `${doing}: bucket ${bucket} does not exist: create it first`,
    )
  }
  return new StrataError(ErrorCodes.MASTER_STORAGE, `${doing}: ${name}: ${e?.message ?? String(error)}`, {
    cause: error,
  })
}
