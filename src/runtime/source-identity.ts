// Every data folder and store knows its source (docs/master-dataset.md, "Source identity"). A master dataset
// records, at creation, what it copies (the embedded log, or a Kafka cluster, topic, topic id and
// partition count) and a random dataset id; a store records the source and the dataset its views
// and speed state were built from. At the start of every role each side is compared with what
// this process reads, and any mismatch is refused: offsets of one source mean nothing in another
// (a demo's offsets resumed in a Kafka topic, a recreated topic, a changed key → partition
// mapping), and a store's horizons mean nothing against another master dataset.
//
// <masterRoot>/source.json: { "dataset": "<uuid>", "source": SourceIdentity, "createdAt": "…" }
// store meta "source": SourceIdentity; store meta "dataset": "<uuid>"
import { randomUUID } from 'node:crypto'
import type { StrataConfig } from '../core/config.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import {
  isObjectStoreUrl,
  type MasterDataset,
  openMasterDataset,
  type S3Settings,
} from '../master-dataset/index.ts'
import type { Store } from '../store/store.ts'
import type { Logger } from './logger.ts'
import { embeddedSource, ensureSourceTopic, type SourceIdentity } from './source-topic.ts'

export type { SourceIdentity }

export interface FolderIdentity {
  dataset: string
  source: SourceIdentity
  createdAt: string
}

export const IDENTITY_FILE = 'source.json'

export function describeIdentity(source: SourceIdentity): string {
  return source.kind === 'embedded'
    ? `the embedded log (topic ${source.topic}, ${source.partitions} partitions)`
    : `Kafka topic ${source.topic} (id ${source.topicId}, ${source.partitions} partitions) of cluster ${source.clusterId}`
}

export function sameSource(a: SourceIdentity, b: SourceIdentity): boolean {
  if (a.kind !== b.kind || a.topic !== b.topic || a.partitions !== b.partitions) return false
  return (
    a.kind === 'embedded' || (b.kind === 'kafka' && a.clusterId === b.clusterId && a.topicId === b.topicId)
  )
}

/** The identity recorded at a master dataset's root (a folder, or an s3:// prefix). */
export async function readFolderIdentity(
  masterRoot: string | MasterDataset,
  s3?: S3Settings,
): Promise<FolderIdentity | undefined> {
  const dataset =
    typeof masterRoot === 'string'
      ? await openMasterDataset(masterRoot, { readOnly: true, ...(s3 ? { s3 } : {}) })
      : masterRoot
  try {
    return await readIdentity(dataset)
  } finally {
    if (typeof masterRoot === 'string') await dataset.close()
  }
}

async function readIdentity(dataset: MasterDataset): Promise<FolderIdentity | undefined> {
  const masterRoot = dataset.location
  const bytes = await dataset.readRootFile(IDENTITY_FILE)
  if (bytes === undefined) return undefined
  try {
    return JSON.parse(bytes.toString('utf8')) as FolderIdentity
  } catch (cause) {
    throw new StrataError(
      ErrorCodes.SEGMENT_CORRUPT,
      `${masterRoot}/${IDENTITY_FILE} is not JSON: restore it, or run strata reset --data <folder>`,
      { cause },
    )
  }
}

export interface IdentityCheck {
  /** What this process reads; absent when the role does not talk to the source (strata batch). */
  source?: SourceIdentity
  /**
   * The master dataset's root, when the role uses it; `create`: the role writes it; `optional`:
   * the role does not read it (strata query), so only a folder with a recorded identity counts.
   */
  folder?: { root: string; create: boolean; optional?: boolean; s3?: S3Settings }
  /** The store, when the role uses it. */
  store?: Store
  /**
   * The topic and partition count the config names. A role that does not talk to the source
   * (strata query, strata batch, a serve or batch worker without --brokers) has no `source` to
   * compare; the config still says which source its answers must come from, so a store or folder
   * recorded from another topic is refused rather than served as this one's.
   */
  named?: { topic: string; partitions: number }
  logger: Logger
}

const wayOut =
  'use another --data folder or --store for this source, or empty them with strata reset (the same --data and --store; docs/master-dataset.md#source-identity)'
const wayOutS3 =
  "use another --master prefix or --store for this source, or empty them (delete the prefix's objects; strata reset --store for the store; docs/master-dataset.md#source-identity)"

function mismatch(what: string, check?: IdentityCheck): StrataError {
  const onS3 = check?.folder && isObjectStoreUrl(check.folder.root)
  return new StrataError(ErrorCodes.SOURCE_MISMATCH, `${what}: ${onS3 ? wayOutS3 : wayOut}`)
}

/** Where the master dataset lives, as a message names it: a data folder, or an object-store prefix. */
function place(root: string): string {
  return isObjectStoreUrl(root) ? `the master dataset at ${root}` : `the data folder ${root}`
}

/**
 * Compares the source, the data folder and the store pairwise, refusing any mismatch; then records
 * on each side what it lacks (first use). Read first, write after: a refused start changes nothing.
 */
export async function checkSourceIdentity(check: IdentityCheck): Promise<void> {
  const { folder } = check
  const dataset = folder
    ? await openMasterDataset(folder.root, { readOnly: true, ...(folder.s3 ? { s3: folder.s3 } : {}) })
    : undefined
  try {
    await checkIdentities(check, dataset)
  } finally {
    await dataset?.close()
  }
}

async function checkIdentities(check: IdentityCheck, dataset: MasterDataset | undefined): Promise<void> {
  const { source, folder, store } = check
  // The store first, then the folder: a role records the dataset in the store only after it has
  // claimed the folder, so a store naming a dataset is never read beside a folder read before
  // that claim. Read the other way round, a role starting beside the one claiming both (the
  // production shape's roles on a new data folder and store) saw a store naming a dataset and a
  // folder still without one, and was refused as a mismatch (a fresh-clone run met it).
  const storeSource = store ? ((await store.readMeta('source')) as SourceIdentity | undefined) : undefined
  const storeDataset = store ? ((await store.readMeta('dataset')) as string | undefined) : undefined
  const folderId = dataset ? await readIdentity(dataset) : undefined

  if (source && folderId && !sameSource(source, folderId.source)) {
    throw mismatch(
      `${place(folder!.root)} holds a master dataset of ${describeIdentity(folderId.source)}, not of ${describeIdentity(source)}`,
      check,
    )
  }
  const { named } = check
  for (const [recorded, what] of [
    [folderId?.source, `${place(folder?.root ?? '')} holds a master dataset of`],
    [storeSource, 'the store was built from'],
  ] as const) {
    if (
      !source &&
      named &&
      recorded &&
      (recorded.topic !== named.topic || recorded.partitions !== named.partitions)
    ) {
      throw mismatch(
        `${what} ${describeIdentity(recorded)}, and the config names topic ${named.topic} (${named.partitions} partitions)`,
        check,
      )
    }
  }
  const known = source ?? folderId?.source
  if (known && storeSource && !sameSource(known, storeSource)) {
    throw mismatch(
      `the store was built from ${describeIdentity(storeSource)}, not from ${describeIdentity(known)}`,
      check,
    )
  }
  if (folder && store && !(folder.optional && !folderId)) {
    if (storeDataset && storeDataset !== folderId?.dataset) {
      throw mismatch(
        folderId
          ? `the store was built from master dataset ${storeDataset}, not from ${folderId.dataset} in ${folder.root}`
          : `the store holds views built from master dataset ${storeDataset}, and ${folder.root} is a new, empty master dataset`,
        check,
      )
    }
    // A store from before identities (nothing recorded) that holds state, paired with a folder
    // that has no data: its horizons count events this folder does not have.
    if (!storeSource && !storeDataset && !folderId && (await holdsState(store))) {
      if ((await dataset!.partitions()).length === 0) {
        throw mismatch(`the store holds views and offsets, and ${folder.root} holds no master dataset`, check)
      }
    }
  }

  let datasetId = folderId?.dataset
  if (folder && !folderId && source && (folder.create || (await dataset!.partitions()).length > 0)) {
    // A folder from before identities with data in it is adopted as the current source's: the
    // best guess there is, said out loud.
    if ((await dataset!.partitions()).length > 0) {
      if (source.kind === 'kafka' && (await holdsEmbeddedLog(dataset!))) {
        throw mismatch(
          `the data folder ${folder.root} holds the embedded log (an .active segment, written before sources were recorded), not a copy of ${describeIdentity(source)}`,
          check,
        )
      }
      check.logger.warn(`${folder.root} has no recorded source: recording ${describeIdentity(source)}`)
    }
    datasetId = await claimFolder(dataset!, source)
  }
  if (store) {
    const recordedSource = known ? ((await store.claimMeta('source', known)) as SourceIdentity) : undefined
    if (recordedSource && known && !sameSource(recordedSource, known)) {
      throw mismatch(`the store was just claimed by ${describeIdentity(recordedSource)}`, check)
    }
    if (folder && datasetId && !storeDataset) {
      const recorded = await store.claimMeta('dataset', datasetId)
      if (recorded !== datasetId)
        throw mismatch(`the store was just claimed by master dataset ${recorded}`, check)
    }
  }
}

/** Writes the folder's identity unless one is there (two starting writers: the first wins). */
async function claimFolder(dataset: MasterDataset, source: SourceIdentity): Promise<string> {
  const root = dataset.location
  const identity: FolderIdentity = { dataset: randomUUID(), source, createdAt: new Date().toISOString() }
  if (await dataset.createRootFile(IDENTITY_FILE, Buffer.from(`${JSON.stringify(identity, null, 2)}\n`))) {
    return identity.dataset
  }
  const existing = (await readIdentity(dataset))!
  if (!sameSource(existing.source, source)) {
    throw new StrataError(
      ErrorCodes.SOURCE_MISMATCH,
      `${root} was just claimed by ${describeIdentity(existing.source)}`,
    )
  }
  return existing.dataset
}

/** Only the embedded log writes active segments; the archiver writes sealed ones. */
async function holdsEmbeddedLog(dataset: MasterDataset): Promise<boolean> {
  if (isObjectStoreUrl(dataset.location)) return false
  for (const p of await dataset.partitions()) {
    if ((await dataset.listPartition(p)).activeStart !== undefined) return true
  }
  return false
}

async function holdsState(store: Store): Promise<boolean> {
  if ((await store.listBatchViews()).length > 0) return true
  return (await store.speedPartitions()).some((p) => p.offset > 0)
}

export type RoleName = 'start' | 'speed' | 'archiver' | 'batch' | 'serve' | 'query'

export interface RoleSourceContext {
  config: StrataConfig
  masterRoot: string
  s3?: S3Settings
  store?: Store
  brokers?: string
  logger: Logger
}

/**
 * At the start of a role: the source topic ensured (Kafka mode), then the source, the data folder
 * and the store compared, as far as the role uses each. Speed and serve never read the data
 * folder (they may run where there is none); strata query reads only the store.
 */
export async function checkRoleSource(role: RoleName, context: RoleSourceContext): Promise<void> {
  const root = context.masterRoot
  const at = { root, ...(context.s3 ? { s3: context.s3 } : {}) }
  const folder =
    role === 'start' || role === 'archiver'
      ? { ...at, create: true }
      : role === 'batch'
        ? { ...at, create: false }
        : role === 'query'
          ? { ...at, create: false, optional: true }
          : undefined
  let source: SourceIdentity | undefined
  if (context.brokers) {
    source = await ensureSourceTopic(context, {
      beforeCreate: () => refuseRecordedBeforeCreate(context, folder),
    })
  } else if (role === 'start') source = embeddedSource(context.config)
  const { topic, partitions } = context.config.source
  await checkSourceIdentity({
    source,
    folder,
    store: context.store,
    named: { topic, partitions },
    logger: context.logger,
  })
}

/**
 * The source topic is missing: a data folder or a store that already records a source cannot be
 * paired with the topic about to be created (a new topic has a new id, and an embedded log is not
 * Kafka), so the start is refused before the cluster is changed. Before session 20 the topic was
 * created first and the start refused right after, leaving a topic nobody asked for.
 */
async function refuseRecordedBeforeCreate(
  context: RoleSourceContext,
  folder: { root: string; s3?: S3Settings } | undefined,
): Promise<void> {
  const { topic } = context.config.source
  const notCreated = `and topic ${topic} does not exist on ${context.brokers}: not creating it, since a new topic is another source`
  const storeSource = (await context.store?.readMeta('source')) as SourceIdentity | undefined
  if (storeSource) throw mismatch(`the store was built from ${describeIdentity(storeSource)}, ${notCreated}`)
  const folderId = folder ? await readFolderIdentity(folder.root, folder.s3) : undefined
  if (folderId) {
    throw mismatch(
      `${place(folder!.root)} holds a master dataset of ${describeIdentity(folderId.source)}, ${notCreated}`,
      { folder: { ...folder!, create: false }, logger: context.logger },
    )
  }
}
