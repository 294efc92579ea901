// Number, time and offset formatting for the dashboard (the browser's Intl, en-US digits).
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 })
const figure = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 })
const compactFigure = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 })

/** 12,345 — or a dash for a missing value. */
export function formatCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? integer.format(n) : '–'
}

/** 12,345 below a million, then 1.2M; fractions below 1,000 to 3 significant digits (0.25). */
export function formatBig(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
  if (!Number.isInteger(n) && Math.abs(n) < 1000) return figure.format(n)
  return Math.abs(n) < 1e6 ? integer.format(n) : compact.format(n)
}

/**
 * A measured figure to 3 significant digits: 0.00123, 12.3, 1,230, 1.23M. A quantile sketch is
 * within 1 % of the true value (DDSketch's default α), so a fourth digit would be noise.
 */
export function formatFigure(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
  return Math.abs(n) < 1e6 ? figure.format(n) : compactFigure.format(n)
}

/** Events per second: a decimal below 10, whole numbers above. */
export function formatRate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
  return n < 10 ? decimal.format(n) : integer.format(n)
}

/**
 * A value from a view: integers with separators; fractions (a mean, a sum of prices) to 3
 * significant digits below 1,000 and to the unit above; quantiles as their figures.
 */
export function formatValue(v) {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return integer.format(v)
    return Math.abs(v) < 1000 ? figure.format(v) : integer.format(v)
  }
  if (v === null || v === undefined) return '–'
  if (isQuantiles(v)) return formatQuantiles(v)
  return JSON.stringify(v)
}

/**
 * A view's value, or its overflow: a sum past ±1.8e308 is answered `"value": null` with
 * `"overflow": "Infinity"` ('-Infinity', 'NaN') beside it (docs/views.md), shown as such, never
 * as the dash of no value.
 */
export function formatAnswer(value, overflow) {
  return typeof overflow === 'string' ? `${overflow} (overflow)` : formatValue(value)
}

/** A quantiles view's answer: { count, min, max, p50, p95, … } (core/monoids/quantiles.ts). */
export function isQuantiles(v) {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.count === 'number' &&
    'min' in v &&
    'max' in v &&
    quantileNames(v).length > 0
  )
}

/** The pNN keys of a quantiles answer, lowest quantile first: ['p50', 'p95', 'p99']. */
export function quantileNames(v) {
  return Object.keys(v)
    .filter((k) => /^p\d+(\.\d+)?$/.test(k))
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
}

/** "p50 12.3 · p95 45.6 · p99 78.9" — or "no values" for an empty sketch. */
export function formatQuantiles(v) {
  if (v.count === 0) return 'no values'
  return quantileNames(v)
    .map((name) => `${name} ${formatFigure(v[name])}`)
    .join(' · ')
}

/** A duration in ms as a window's people say it: 1 h, 15 min, 30 s, 1 d. */
export function formatSpan(ms) {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/** A view's window: "1 h" when tumbling, "hopping 1 h every 15 min" (its size and advance). */
export function formatWindowSpec(w) {
  if (!w) return ''
  return w.kind === 'hopping'
    ? `hopping ${formatSpan(w.size)} every ${formatSpan(w.advance)}`
    : formatSpan(w.size)
}

export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${decimal.format(ms / 1000)} s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`
}

export function formatAgo(at, now = Date.now()) {
  const s = Math.max(0, Math.round((now - at) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86_400)} d ago`
}

const pad = (n) => String(n).padStart(2, '0')

export function formatClock(ms) {
  const d = new Date(ms)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** A window's start: the day for day-sized windows, else the time (with the day when asked). */
export function formatWindow(start, size, withDay) {
  const d = new Date(start)
  const day = `${MONTHS[d.getMonth()]} ${d.getDate()}`
  if (size >= 86_400_000 && d.getHours() === 0 && d.getMinutes() === 0) return day
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`
  return withDay ? `${day} ${time}` : time
}

/** A window as a range, for tables and tooltips: "Nov 24 14:00 – 15:00". */
export function formatWindowRange(start, end) {
  const a = new Date(start)
  const b = new Date(end)
  const day = (d) => `${MONTHS[d.getMonth()]} ${d.getDate()}`
  const time = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`
  if (end - start >= 86_400_000 && a.getHours() === 0 && a.getMinutes() === 0) {
    return end - start === 86_400_000 ? day(a) : `${day(a)} – ${day(new Date(end - 1))}`
  }
  return day(a) === day(b)
    ? `${day(a)} ${time(a)} – ${time(b)}`
    : `${day(a)} ${time(a)} – ${day(b)} ${time(b)}`
}

/** A horizon or asOf (offsets per partition) in one number: their sum. */
export function sumOffsets(offsets) {
  if (!Array.isArray(offsets)) return null
  let sum = 0
  for (const o of offsets) if (typeof o === 'number') sum += o
  return sum
}

/** "p0 500 · p1 480 …" for a title attribute. */
export function describeOffsets(offsets) {
  if (!Array.isArray(offsets)) return ''
  return offsets.map((o, p) => `p${p} ${o ?? '–'}`).join(' · ')
}
