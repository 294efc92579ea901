// The import graph of src/, read with TypeScript's own pre-processor (static imports, re-exports,
// `import type`, dynamic `import('…')`), so the structure tests judge what the compiler sees.
import { readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import ts from 'typescript'

/** Files of src/ (repo-relative) → the src/ files each one imports. */
export function fileImports(root: string, files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(resolve(root, file), 'utf8'), true, true)
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(root, resolve(root, dirname(file), name)))
      .filter((target) => target.startsWith('src/'))
    graph.set(file, [...new Set(targets)])
  }
  return graph
}

/** The top-level folder of src/ a file belongs to (`src/log/kafka/x.ts` → `log`); `.` for src/x.ts. */
export function topFolder(file: string): string {
  const parts = relative('src', file).split('/')
  return parts.length > 1 ? parts[0] : '.'
}

/** Collapses a file graph to its folders; edges inside one folder are dropped. */
export function folderGraph(files: Map<string, string[]>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  for (const [file, targets] of files) {
    const from = topFolder(file)
    const edges = graph.get(from) ?? new Set<string>()
    graph.set(from, edges)
    for (const target of targets) {
      const to = topFolder(target)
      if (to !== from) edges.add(to)
    }
  }
  return graph
}

/** Every cycle's path (`a → b → a`), found by depth-first search; empty when the graph is a DAG. */
export function cycles<T>(graph: Map<T, Iterable<T>>): T[][] {
  const found: T[][] = []
  const state = new Map<T, 'open' | 'done'>()
  const path: T[] = []
  const visit = (node: T): void => {
    state.set(node, 'open')
    path.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    path.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return found
}
