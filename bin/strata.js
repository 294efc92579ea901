#!/usr/bin/env node
// The `strata` command. Two places it runs from:
//   - the repository: it runs the TypeScript sources directly on Node 24 (type stripping). When
//     started by an older system Node (Node 20 here), it re-runs on the Node 24 that the
//     project's `node` dev dependency installs, so `./bin/strata.js` and `npx strata` work the
//     same as npm scripts;
//   - the installed package (`npm install strata-lambda`): there is no src/, it runs the compiled
//     dist/ on the user's own Node, which must be 24 or newer (Node refuses to strip types under
//     node_modules, so the package ships JavaScript; docs/decisions/0007-npm-package.md). Older
//     Node gets one line saying so, not a stack from a syntax or API it lacks.
//
// This file itself stays plain JavaScript that parses on old Node, so that line can be printed.
//
// No strata process outlives what started it (issue 11: SIGTERM to `npm start` left strata
// serving, orphaned):
//   - the launcher passes SIGINT, SIGTERM and SIGHUP on to the Node 24 child;
//   - the child has an IPC channel to the launcher: when it disconnects, the launcher is gone
//     (even by kill -9), and the child shuts down as on SIGTERM;
//   - under an npm script (`npm start`: npm -> sh -> node), npm passes a signal to sh, which dies
//     without passing it on: a strata process whose parent changes (it was re-parented) under
//     npm shuts down as on SIGTERM. Outside npm, a re-parented process goes on (nohup, `&`).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import module from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const [major] = process.versions.node.split('.').map(Number)
const MIN_NODE = 24
// The sources are in the repository, not in the published package (package.json `files`).
const fromSources = existsSync(join(root, 'src', 'cli', 'main.ts'))

/** Calls `onGone` once the process that started this one under npm has ended. */
function watchNpmParent(onGone) {
  if (!process.env.npm_lifecycle_event) return
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onGone()
  }, 500)
  timer.unref()
}

/**
 * Node's compile cache for this command's own modules, as tsc does for itself: from the sources,
 * each start otherwise strips and compiles every TypeScript file again (~0.3 s of CPU of a
 * `strata start`; the threads it starts take the same folder, core/compile-cache.ts). Only the
 * command turns it on: Strata imported as a library leaves its host process as it was. Not when
 * the environment already chose (NODE_COMPILE_CACHE, NODE_DISABLE_COMPILE_CACHE), nor in a tmp
 * folder that is not ours alone.
 */
async function enableCompileCache() {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE) return
  const { compileCacheFolder } = await import(
    fromSources ? '../src/core/compile-cache.ts' : '../dist/src/core/compile-cache.js'
  )
  const folder = compileCacheFolder()
  if (folder !== undefined) module.enableCompileCache?.(folder)
}

if (major < MIN_NODE && !fromSources) {
  console.error(
    `strata needs Node.js ${MIN_NODE} or newer (this is ${process.version}); see https://nodejs.org`,
  )
  process.exit(1)
} else if (major < MIN_NODE) {
  const node = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(node)) {
    console.error(
      `strata needs Node.js ${MIN_NODE} or newer (this is ${process.version}); run \`npm ci\` first.`,
    )
    process.exit(1)
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, STRATA_LAUNCHER_IPC: '1' },
  })
  child.channel?.unref()
  // Pass signals on, so Ctrl-C and SIGTERM reach the real process and it can shut down cleanly.
  let forwarded = false
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      forwarded = true
      child.kill(signal)
    })
  }
  // npm forwards its SIGTERM and exits: the child already has that signal; a second would read as
  // "again: exit now" and skip the graceful close.
  watchNpmParent(() => forwarded || child.kill('SIGTERM'))
  child.on('exit', (code, signal) => {
    if (!signal) process.exit(code ?? 1)
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
} else {
  // onShutdown's clean stop when installed (an event, so that a SIGTERM npm already forwarded is
  // not followed by a second one, which would skip the graceful close); else SIGTERM's default.
  const stop = () =>
    process.listenerCount('strata:parent-gone') > 0
      ? process.emit('strata:parent-gone')
      : process.kill(process.pid, 'SIGTERM')
  if (process.env.STRATA_LAUNCHER_IPC === '1' && process.channel) {
    delete process.env.STRATA_LAUNCHER_IPC // not for the processes strata starts
    process.channel.unref() // the channel must not keep a finished command alive
    process.once('disconnect', stop)
  } else {
    watchNpmParent(stop)
  }
  await enableCompileCache()
  const { main } = await import(fromSources ? '../src/cli/main.ts' : '../dist/src/cli/main.js')
  await main(process.argv)
}
