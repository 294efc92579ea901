#!/usr/bin/env node
// The `strata` command. Strata runs its TypeScript sources directly on Node 24 (type stripping).
// When started by an older system Node (Node 20 here), re-run on the Node 24 that the project's
// `node` dev dependency installs, so `./bin/strata.js` and `npx strata` work the same as npm scripts.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const [major] = process.versions.node.split('.').map(Number)

if (major < 24) {
  const node = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(node)) {
    console.error(`strata needs Node.js 24 or newer (this is ${process.version}); run \`npm ci\` first.`)
    process.exit(1)
  }
  const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' })
  // Pass signals on, so Ctrl-C and SIGTERM reach the real process and it can shut down cleanly.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal))
  }
  child.on('exit', (code, signal) => {
    if (!signal) process.exit(code ?? 1)
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  })
} else {
  const { main } = await import('../src/cli/main.ts')
  await main(process.argv)
}
