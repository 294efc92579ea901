// Structure the next engineer can rely on (docs/architecture.md, "Map of the folders"): the
// folders of src/ depend on each other in one direction only, no two files import each other
// round a cycle, and no file cites a document that is not in the repository.
import assert from 'node:assert/strict'
import { existsSync, globSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { test } from 'node:test'
import { cycles, fileImports, folderGraph, topFolder } from './import-graph.ts'

const root = resolve(import.meta.dirname, '..', '..')
const sources = globSync('src/**/*.ts', { cwd: root }).sort()

test('structure: the folder-level import graph of src/ has no cycle', () => {
  const graph = folderGraph(fileImports(root, sources))
  assert.ok(graph.size >= 8, `expected the layer folders of src/, found ${[...graph.keys()]}`)
  const found = cycles(graph).map((cycle) => cycle.join(' → '))
  assert.deepEqual(found, [], `folder cycles in src/:\n${found.join('\n')}`)
})

// The "may import" column of docs/architecture.md's map of the folders, read as the rule.
function allowedImports(): Map<string, Set<string> | 'everything'> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const map = doc.slice(doc.indexOf('## Map of the folders'), doc.indexOf('## Configuration'))
  const rules = new Map<string, Set<string> | 'everything'>()
  for (const row of map.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| folder'))) {
    const cells = row.split(' | ')
    const first = cells[0] ?? ''
    const last = cells[cells.length - 1] ?? ''
    const folder = first.includes('src/index.ts') ? '.' : /`([\w-]+)\/`/.exec(first)?.[1]
    if (!folder) continue
    const names = [...last.matchAll(/`([\w-]+)\/`/g)].map((m) => m[1] as string)
    rules.set(folder, last.includes('everything') ? 'everything' : new Set(names))
  }
  return rules
}

test('structure: each folder of src/ imports only what docs/architecture.md allows it', () => {
  const rules = allowedImports()
  const graph = folderGraph(fileImports(root, sources))
  assert.deepEqual(
    [...graph.keys()].filter((f) => !rules.has(f)),
    [],
    'folders missing from the map',
  )
  const broken: string[] = []
  for (const [folder, targets] of graph) {
    const allowed = rules.get(folder)
    if (allowed === 'everything') continue
    for (const target of targets) if (!allowed?.has(target)) broken.push(`${folder}/ imports ${target}/`)
  }
  assert.deepEqual(broken, [], `imports the map of the folders does not allow:\n${broken.join('\n')}`)
})

test('structure: no import cycle between the files of src/', () => {
  const found = cycles(fileImports(root, sources)).map((cycle) => cycle.join(' → '))
  assert.deepEqual(found, [], `file cycles in src/:\n${found.join('\n')}`)
})

test('structure: the cycle finder sees a cycle through folders', () => {
  const files = new Map([
    ['src/a/x.ts', ['src/b/y.ts']],
    ['src/b/y.ts', ['src/c/z.ts']],
    ['src/c/z.ts', ['src/a/w.ts']],
    ['src/a/w.ts', []],
  ])
  assert.equal(topFolder('src/log/kafka/admin.ts'), 'log')
  assert.equal(topFolder('src/index.ts'), '.')
  assert.deepEqual(
    cycles(folderGraph(files)).map((c) => c.join(' → ')),
    ['a → b → c → a'],
  )
  assert.deepEqual(cycles(files), [])
})

// A citation is any word ending in ".md" in a file the repository tracks; it must name a file that exists
// beside the citing file, at the repository root, or under docs/ or docs/decisions/.
const citing = globSync('{src,test,bench,scripts,examples,docs,bin,tools}/**/*.{ts,js,md,html,json}', {
  cwd: root,
})
  .concat(globSync('*.{md,json}', { cwd: root }))
  .filter((file) => !file.includes('node_modules') && !file.includes('/target/'))

test('structure: every document a file cites is in the repository', () => {
  const missing: string[] = []
  for (const file of citing) {
    const text = readFileSync(join(root, file), 'utf8')
    for (const match of text.matchAll(/[A-Za-z0-9_./-]*[A-Za-z0-9_-]+\.md\b/g)) {
      const cited = match[0].replace(/^\.\//, '')
      if (cited.startsWith('/') || cited.includes('node_modules')) {
        missing.push(`${file}: ${cited} (outside the repository)`)
        continue
      }
      const places = [dirname(file), '.', 'docs', 'docs/decisions'].map((dir) => join(root, dir, cited))
      if (!places.some((place) => existsSync(place))) missing.push(`${file}: ${cited}`)
    }
  }
  assert.ok(citing.length > 100, `expected the repository's files, found ${citing.length}`)
  assert.deepEqual(missing, [], `cited documents that are not in the repository:\n${missing.join('\n')}`)
})

// Docs name code by path (`src/speed/claim.ts`, links like [x](../src/…)); a file moved in a
// refactor must take its mentions along, or the docs send the reader nowhere.
test('structure: every repository path the docs name exists', () => {
  const broken: string[] = []
  for (const file of citing.filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(root, file), 'utf8')
    const named = [...text.matchAll(/`((?:src|test|bench|scripts|docs|examples|tools|bin)\/[^`\s]*)`/g)].map(
      (m) => join(root, m[1].replace(/:[\d-]+$/, '')),
    )
    const linked = [...text.matchAll(/\]\(([^)#\s]+)/g)]
      .map((m) => m[1])
      .filter((target) => !/^[a-z]+:/.test(target))
      .map((target) => join(root, dirname(file), target))
    for (const path of [...named, ...linked]) {
      const exists = path.includes('*') ? globSync(path).length > 0 : existsSync(path)
      if (!exists) broken.push(`${file}: ${path.slice(root.length + 1)}`)
    }
  }
  assert.deepEqual(broken, [], `paths named in the docs that do not exist:\n${broken.join('\n')}`)
})

// A merge resolved in haste once left its conflict markers in a decision record for a session
// (docs/decisions/0013, session 10): half of each side read as if it were the design.
test('structure: no file holds a merge-conflict marker', () => {
  const marked: string[] = []
  for (const file of citing) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n')
    lines.forEach((line, i) => {
      if (/^(<{7}|>{7})( |$)|^={7}$/.test(line)) marked.push(`${file}:${i + 1}: ${line}`)
    })
  }
  assert.deepEqual(marked, [], `merge-conflict markers:\n${marked.join('\n')}`)
})
