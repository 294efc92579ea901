// A flame graph (SVG) from folded stacks ("a;b;c <weight>" per line, bench/lib/cpu-profile.ts):
// callers at the bottom, each frame as wide as its share of the samples; frames under 0.1% of
// the total are left out so the file stays small. Hover a frame for its name and share.
//
//   node bench/lib/flame-svg.ts IN.folded OUT.svg [title]
import { readFileSync, writeFileSync } from 'node:fs'

interface Frame {
  name: string
  value: number
  children: Map<string, Frame>
}

export function flameSvg(folded: string, title: string): string {
  const root: Frame = { name: 'all', value: 0, children: new Map() }
  for (const line of folded.split('\n')) {
    const at = line.lastIndexOf(' ')
    if (at < 0) continue
    const weight = Number(line.slice(at + 1))
    root.value += weight
    let node = root
    for (const name of line.slice(0, at).split(';')) {
      let child = node.children.get(name)
      if (!child) {
        child = { name, value: 0, children: new Map() }
        node.children.set(name, child)
      }
      child.value += weight
      node = child
    }
  }
  const width = 1200
  const row = 16
  const min = root.value / 1000
  const rects: string[] = []
  let depth = 0
  const draw = (node: Frame, x: number, level: number) => {
    depth = Math.max(depth, level)
    const w = (node.value / root.value) * width
    const hue =
      node.name.includes('node_modules') || node.name.includes('@')
        ? 200
        : node.name.includes('src/')
          ? 30
          : 0
    rects.push(
      `<g><title>${escapeXml(node.name)} (${((node.value / root.value) * 100).toFixed(1)}%)</title>` +
        `<rect x="${x.toFixed(1)}" y="LEVEL${level}" width="${w.toFixed(1)}" height="${row - 1}" fill="hsl(${hue},70%,${60 + (level % 3) * 8}%)"/>` +
        (w > 40
          ? `<text x="${(x + 3).toFixed(1)}" y="LEVEL${level}T" font-size="11">${escapeXml(node.name.slice(0, Math.floor(w / 6.5)))}</text>`
          : '') +
        '</g>',
    )
    let cx = x
    for (const child of [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (child.value >= min) draw(child, cx, level + 1)
      cx += (child.value / root.value) * width
    }
  }
  draw(root, 0, 0)
  const height = (depth + 1) * row + 30
  const body = rects
    .join('\n')
    .replace(/LEVEL(\d+)T/g, (_, l) => String(height - (Number(l) + 1) * row + 11))
    .replace(/LEVEL(\d+)/g, (_, l) => String(height - (Number(l) + 1) * row))
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="monospace">
<title>${escapeXml(title)}</title>
<text x="4" y="16" font-size="13">${escapeXml(title)}</text>
${body}
</svg>
`
}

function escapeXml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

if (import.meta.main) {
  const [input, output, title] = process.argv.slice(2)
  if (!input || !output) throw new Error('usage: node bench/lib/flame-svg.ts IN.folded OUT.svg [title]')
  writeFileSync(output, flameSvg(readFileSync(input, 'utf8'), title ?? input))
}
