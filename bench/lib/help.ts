// `--help` (or `-h`) for every bench script: imported first, it prints the comment block at the
// top of the script that was run (what it measures, its command line and options) and exits
// before the script starts a broker, a peer or a preload. A bench run by mistake takes minutes
// and loads a shared machine.
import { readFileSync } from 'node:fs'

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  const script = process.argv[1]!
  const lines = readFileSync(script, 'utf8').split('\n')
  const header: string[] = []
  for (const line of lines) {
    if (!line.startsWith('//')) break
    header.push(line.replace(/^\/\/ ?/, ''))
  }
  console.log(header.length > 0 ? header.join('\n') : `${script}: no description at the top of the file`)
  process.exit(0)
}
