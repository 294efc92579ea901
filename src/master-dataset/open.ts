// Opening the master dataset at a location: a folder (SegmentStore) or `s3://bucket/prefix`
// (S3SegmentStore, whose module, and with it @aws-sdk/client-s3, is imported only then: the
// embedded default never loads the SDK, as runtime/open-store.ts loads pg only for postgres://).
import { isObjectStoreUrl, parseObjectStoreUrl, type S3Settings } from './location.ts'
import type { MasterDataset } from './master-dataset.ts'
import { SegmentStore } from './segment-store.ts'

export interface OpenMasterOptions {
  /** How to reach an S3-compatible store (an s3:// location only). */
  s3?: S3Settings
  /** Where an s3:// dataset is copied for the batch layer (localCopy); unused for a folder. */
  cacheRoot?: string
  /** A reader: a folder's crash leftovers are left alone (only its writer removes them). */
  readOnly?: boolean
}

export async function openMasterDataset(
  location: string,
  options: OpenMasterOptions = {},
): Promise<MasterDataset> {
  if (!isObjectStoreUrl(location)) return SegmentStore.open(location, { readOnly: options.readOnly ?? false })
  const { S3SegmentStore } = await import('./s3/s3-segment-store.ts')
  return new S3SegmentStore(parseObjectStoreUrl(location), {
    ...(options.s3 ? { settings: options.s3 } : {}),
    ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}),
  })
}
