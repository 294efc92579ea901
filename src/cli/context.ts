// What a command finds at the paths of its settings (settings.ts): the config, the master dataset
// under <data>/master/<topic>, the embedded store under <data>/store unless --store names a
// PostgreSQL URL. One place, so every command and role agrees.
import { join } from 'node:path'
import type { StrataConfig } from '../core/config.ts'
import { DEFAULT_CONFIG_FILE, loadConfig } from '../core/config-loader.ts'
import { registerUrlSecret } from '../core/secrets.ts'
import { childLocation, type S3Settings } from '../master-dataset/index.ts'
import { createLogger } from '../runtime/logger.ts'
import { lmdbPathOf, type OpenStoreOptions, openStore } from '../runtime/open-store.ts'
import type { Store } from '../store/store.ts'
import { chooseConfig } from './config-note.ts'
import { defaultDataDir, type PathSettings } from './settings.ts'

export type { CommonFlags } from './settings.ts'

export interface Context {
  config: StrataConfig
  configPath: string
  dataDir: string
  /** Root of the master dataset of the source topic: a folder, or s3://bucket/prefix/<topic>. */
  masterRoot: string
  /** Where an s3:// master dataset is copied for the batch layer: <data>/master-cache/<topic>. */
  masterCache: string
  s3: S3Settings
  /** The embedded LMDB store's folder (what openStore opens); undefined for PostgreSQL. */
  lmdbPath: string | undefined
  /**
   * `existing`: a reader's open, which creates nothing (STRATA_ERR_NO_DATA instead);
   * `firstAnswerTimeoutMs`: PostgreSQL's first answer bounded (`--startup-timeout`).
   */
  openStore(options?: Pick<OpenStoreOptions, 'existing' | 'firstAnswerTimeoutMs'>): Promise<Store>
}

/** The context of resolved paths (settings.ts): the config loaded, the store's kind decided. */
export async function resolveContext(paths: PathSettings): Promise<Context> {
  const { dataDir, storeUrl } = paths
  // No config given and none here: the one `strata start` noted in the data folder (config-note.ts).
  const configPath = chooseConfig(paths.configPath, dataDir, (line) => createLogger('strata').info(line))
  const config = await loadConfig(configPath)
  registerUrlSecret(storeUrl) // whatever prints later (logger, CLI errors) blanks its password
  const lmdbPath = lmdbPathOf(storeUrl, dataDir)
  return {
    config,
    configPath,
    dataDir,
    masterRoot: masterLocation(paths.master, dataDir, config.source.topic),
    masterCache: join(dataDir, 'master-cache', config.source.topic),
    s3: paths.s3,
    lmdbPath,
    // The store the URL names (runtime/open-store.ts); none: the LMDB store in <data>/store.
    openStore: (options = {}) => openStore(lmdbPath ?? storeUrl!, options),
  }
}

/** <master>/<topic>: the master dataset of one source topic (default <data>/master/<topic>). */
export function masterLocation(master: string | undefined, dataDir: string, topic: string): string {
  return childLocation(master ?? join(dataDir, 'master'), topic)
}

export function addCommonOptions<T extends { option: (flags: string, description: string) => T }>(
  command: T,
): T {
  return command
    .option('-c, --config <file>', `view definitions (env STRATA_CONFIG; default ./${DEFAULT_CONFIG_FILE})`)
    .option(
      '-d, --data <dir>',
      `data folder: master dataset and embedded store (env STRATA_DATA; default ./${defaultDataDir})`,
    )
    .option(
      '-m, --master <url>',
      'master dataset: a folder, or s3://bucket/prefix on S3-compatible storage (env STRATA_MASTER; default <data>/master; docs/master-dataset.md)',
    )
    .option(
      '-s, --store <url>',
      'store: a folder for the embedded LMDB store, or postgres://user@host/db?schema=s (env STRATA_STORE; default <data>/store)',
    )
}
