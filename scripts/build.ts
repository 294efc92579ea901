// `npm run build` (and `prepack`, so `npm pack` and `npm publish` always ship a fresh build): the
// published package's dist/. tsc compiles src/ and the demo's example config to ESM JavaScript
// with declarations (tsconfig.build.json; `.ts` import paths become `.js`), then every file
// under src/ that is not TypeScript (the dashboard's page, scripts and styles) is copied beside
// the compiled modules, where they look for it by their own URL. Not needed in the repository
// itself: the CLI and the tests run the sources (docs/decisions/0007-npm-package.md).
import { spawnSync } from 'node:child_process'
import { cpSync, rmSync, statSync } from 'node:fs'

rmSync('dist', { recursive: true, force: true })
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
})
if (tsc.status !== 0) {
  console.error('build: tsc failed')
  process.exit(1)
}
cpSync('src', 'dist/src', {
  recursive: true,
  filter: (path) => statSync(path).isDirectory() || !path.endsWith('.ts'),
})
console.log('build: dist/ ready')
