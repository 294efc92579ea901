// Which folders a command writes, and so locks for its lifetime (runtime/data-lock.ts): the data
// folder when it writes the master dataset (the embedded log, or the archiver's copy of Kafka),
// the embedded LMDB store's folder when it runs a speed layer on it. A PostgreSQL store is shared
// by design (fencing keeps its speed partitions to one owner); it takes no lock here.
import { type FolderLock, lockFolders } from '../runtime/data-lock.ts'
import type { Context } from './context.ts'

export interface Writes {
  /** Appends to the master dataset: strata start, strata worker archiver. */
  masterDataset?: boolean
  /** Folds the speed layer into the store: strata start, strata worker speed. */
  speedStore?: boolean
}

export function lockWrittenFolders(context: Context, command: string, writes: Writes): FolderLock {
  const folders: string[] = []
  if (writes.masterDataset) folders.push(context.dataDir)
  if (writes.speedStore && context.lmdbPath !== undefined) folders.push(context.lmdbPath)
  return lockFolders(folders, command)
}
