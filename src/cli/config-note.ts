// Which config built a data folder. `npm start` runs `strata start --demo`, whose views come from
// examples/pageviews/strata.config.ts; the next `strata batch` or `strata query`, run with no
// --config in a folder with no ./strata.config.ts, failed with "config file not found". So
// `strata start` notes its config in <data>/config.json, and a command given no config (and
// finding none in its folder) uses the noted one, saying so in one line. chooseConfig is that
// rule, for every command that reads a config: start, worker (each role) and, through
// context.ts, batch, query and reset (before session 16 `strata worker` ignored the note).
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DEFAULT_CONFIG_FILE } from '../core/config-loader.ts'

export const CONFIG_NOTE = 'config.json'

interface ConfigNote {
  /** Absolute path of the config file `strata start` ran with. */
  config: string
  writtenBy: string
  at: string
}

/** Notes the config a process writes this data folder with (the folder exists: it holds the lock). */
export function noteConfig(dataDir: string, configPath: string, writtenBy: string): void {
  const note: ConfigNote = { config: resolve(configPath), writtenBy, at: new Date().toISOString() }
  writeFileSync(join(dataDir, CONFIG_NOTE), `${JSON.stringify(note, null, 2)}\n`)
}

/**
 * The config a command reads: the one it was given; else, when the default ./strata.config.ts is
 * not there, the one noted in the data folder (and a line saying so). Otherwise the given path,
 * whose absence loadConfig reports.
 */
export function chooseConfig(configPath: string, dataDir: string, say: (line: string) => void): string {
  if (configPath !== resolve(DEFAULT_CONFIG_FILE) || existsSync(configPath)) return configPath
  const noted = readNote(dataDir)
  if (noted === undefined || !existsSync(noted.config)) return configPath
  say(
    `no ./${DEFAULT_CONFIG_FILE} here: using ${noted.config}, the config ${noted.writtenBy} ran with on ${dataDir} (--config to choose another)`,
  )
  return noted.config
}

function readNote(dataDir: string): ConfigNote | undefined {
  try {
    const note = JSON.parse(readFileSync(join(dataDir, CONFIG_NOTE), 'utf8')) as Partial<ConfigNote>
    return typeof note.config === 'string'
      ? { config: note.config, writtenBy: note.writtenBy ?? 'strata start', at: note.at ?? '' }
      : undefined
  } catch {
    return undefined // no note (or not ours): the command reports the missing config as before
  }
}
