// Node's module compile cache for the threads a process starts. Every new thread loads its
// modules again, and run from the sources that is TypeScript: each thread instantiates Node's
// type stripper (a WebAssembly module) and strips and compiles every file, ~350–450 ms of CPU
// per thread measured on the batch layer's fold thread, more than a warm batch run of 3 M events
// (BENCHMARKS.md, "Batch recompute per core", session 10). With the compile cache (Node's own,
// on disk: `module.enableCompileCache`), a thread reads the stripped and compiled code back
// instead, ~100–170 ms. The cache is keyed by each file's content, so an edited file is compiled
// again, never served stale; the first thread after a change (or on a new machine) pays in full.
//
// A thread takes the setting from its environment when it starts (enabling it in the thread
// itself would be too late: its imports load first), so the threads are given this env.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does for Node itself.
//
// The folder given is the one Node itself would use (os.tmpdir()/node-compile-cache), where Node
// keeps one subfolder per Node version; this module does not turn the main thread's cache on (a
// process that imports Strata as a library keeps its own choice); the `strata` command does, in
// bin/strata.js, before it loads anything else. When something else
// already enabled it in this process, the threads share its folder: the parent of the versioned
// one module.getCompileCacheDir() reports (handing a thread that one would nest a second cache
// inside the first, one for the first thread and one for the rest). A folder that cannot be
// written leaves a thread without the cache, nothing more.
//
// What the cache holds is run as it is (for a TypeScript file, the stripped code; its checksums
// are CRC32s, no defence against a forged entry), so a folder in a shared tmp is used only when
// it is ours and nobody else can write to it: created here with mode 0700 when absent; owned by
// another user, writable by others, or a symbolic link, the threads go without the cache. Nor in
// a tmp folder others could swap it out of (writable by others without the sticky bit, or owned
// by another user than this one or root).
import { lstatSync, mkdirSync, statSync } from 'node:fs'
import module from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** The environment for a new worker thread: the process's, with the compile cache turned on. */
export function threadEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.NODE_DISABLE_COMPILE_CACHE) return env
  if (env.NODE_COMPILE_CACHE) return env
  const enabled = module.getCompileCacheDir?.()
  const directory = enabled ? dirname(enabled) : compileCacheFolder()
  return directory === undefined ? env : { ...env, NODE_COMPILE_CACHE: directory }
}

/** The folder Node itself would use (os.tmpdir()/node-compile-cache), when it is ours alone. */
export function compileCacheFolder(): string | undefined {
  return ownFolder(join(tmpdir(), 'node-compile-cache'))
}

/**
 * `path`, created if absent, when it is a folder of this user that no one else may write to, in a
 * folder no one else may swap it out of: owned by this user or root, and shared only with the
 * sticky bit (as /tmp is). In a folder others may write to without it (a TMPDIR set somewhere
 * odd), they could rename ours away and put a link to their own in its place between this check
 * and Node reading the cache.
 */
export function ownFolder(path: string): string | undefined {
  const uid = process.getuid?.()
  try {
    const parent = statSync(dirname(path))
    if (uid !== undefined && parent.uid !== uid && parent.uid !== 0) return undefined
    if ((parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0) return undefined
  } catch {
    return undefined
  }
  try {
    mkdirSync(path, { mode: 0o700 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined
  }
  try {
    const stats = lstatSync(path)
    if (!stats.isDirectory()) return undefined
    if (uid !== undefined && stats.uid !== uid) return undefined
    if ((stats.mode & 0o022) !== 0) return undefined
    return path
  } catch {
    return undefined
  }
}
