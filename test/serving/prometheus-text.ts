// A strict reader of the Prometheus text exposition format (version 0.0.4), so tests check that
// /metrics is valid text and not only that it contains some substrings: every sample belongs to
// a family declared by # HELP and # TYPE, names and labels are well formed, values are numbers,
// and histogram buckets are cumulative with a +Inf bucket equal to _count.
import assert from 'node:assert/strict'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: string
  help: string
  samples: Sample[]
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"\s*(?:,|$)/y
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
}

// Values are what Go's strconv.ParseFloat reads (the format's definition): special values in any
// case, so prom-client's "Nan" for an empty event-loop histogram is valid.
function parseValue(text: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY
  if (/^nan$/i.test(text)) return Number.NaN
  assert.match(text, /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `not a sample value: ${text}`)
  return Number(text)
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  if (text === undefined || text === '') return labels
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text)
    assert.ok(m, `bad labels in: ${line}`)
    assert.equal(labels[m[1]], undefined, `label ${m[1]} twice in: ${line}`)
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
  }
  return labels
}

export function parsePrometheusText(text: string): Map<string, Family> {
  assert.ok(text.endsWith('\n'), 'exposition must end with a newline')
  const families = new Map<string, Family>()
  let current: Family | undefined
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta) {
      const [, kind, name, rest] = meta
      assert.match(name, METRIC, line)
      if (kind === 'HELP') {
        assert.ok(!families.has(name), `family ${name} declared twice`)
        current = { name, type: 'untyped', help: rest, samples: [] }
        families.set(name, current)
      } else {
        assert.equal(current?.name, name, `# TYPE ${name} without its # HELP just before`)
        assert.ok(TYPES.has(rest), `unknown type ${rest}`)
        current.type = rest
      }
      continue
    }
    assert.ok(!line.startsWith('#') || line.startsWith('# '), `bad comment: ${line}`)
    if (line.startsWith('#')) continue
    const m = SAMPLE.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    assert.ok(current, `sample before any family: ${line}`)
    const suffixes = SUFFIXES[current.type] ?? ['']
    assert.ok(
      suffixes.some((s) => m[1] === current?.name + s),
      `sample ${m[1]} does not belong to family ${current.name}`,
    )
    current.samples.push({ name: m[1], labels: parseLabels(m[2], line), value: parseValue(m[3]) })
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family)
  return families
}

function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>()
  for (const s of family.samples) {
    const { le, ...rest } = s.labels
    const id = JSON.stringify(Object.entries(rest).sort())
    const entry = series.get(id) ?? { buckets: [] }
    series.set(id, entry)
    if (s.name.endsWith('_bucket')) entry.buckets.push([parseValue(le), s.value])
    if (s.name.endsWith('_count')) entry.count = s.value
  }
  for (const [id, { buckets, count }] of series) {
    const bounds = buckets.map(([le]) => le)
    assert.deepEqual(
      bounds,
      [...bounds].sort((a, b) => a - b),
      `${family.name}${id}: buckets out of order`,
    )
    assert.equal(bounds.at(-1), Number.POSITIVE_INFINITY, `${family.name}${id}: no +Inf bucket`)
    for (let i = 1; i < buckets.length; i++)
      assert.ok(buckets[i][1] >= buckets[i - 1][1], `${family.name}: not cumulative`)
    assert.equal(buckets.at(-1)?.[1], count, `${family.name}${id}: +Inf bucket is not _count`)
  }
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value
    }
  }
  return undefined
}
