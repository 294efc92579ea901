// The views a task process folds or combines: loaded from the config file on the executor, as a
// batch worker thread loads them (worker.ts), and checked against the code hashes the run stamps
// its versions with. A mismatch (the file differs on this machine) fails the task, and so the
// job after Spark's retries: a version is never stamped with a hash it was not computed with.
import type { CompiledView } from '../../core/compiled-view.ts'
import { compileViews } from '../../core/config.ts'
import { loadConfig } from '../../core/config-loader.ts'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { ViewHash } from '../../core/view-hash.ts'

const loaded = new Map<string, Promise<CompiledView<any, any>[]>>()

export async function taskViews(
  configPath: string,
  wanted: readonly ViewHash[],
): Promise<CompiledView<any, any>[]> {
  let loading = loaded.get(configPath)
  if (!loading) {
    loading = loadConfig(configPath).then(compileViews)
    loaded.set(configPath, loading)
  }
  const views = await loading
  return wanted.map(({ view, codeHash }) => {
    const found = views.find((v) => v.name === view)
    if (found?.codeHash === codeHash) return found
    const theirs = found ? `code hash ${found.codeHash.slice(0, 12)}` : 'no such view'
    throw new StrataError(
      ErrorCodes.CONFIG_CHANGED,
      `${configPath} on this executor is not the run's: view '${view}' has code hash ${codeHash.slice(0, 12)} in the run, ${theirs} here; give every executor the same config file`,
    )
  })
}
