// The dashboard's charts, on uPlot (loaded before this module as the global `uPlot`). Each
// chart follows its container's width (ResizeObserver) so the page works from a phone's width
// to a wide screen, and takes its colours from the page's CSS variables (light or dark).
import { formatBig, formatClock, formatFigure } from './format.js'

const uPlot = window.uPlot

/** The colours of the current theme, from CSS custom properties. */
export function theme() {
  const css = getComputedStyle(document.documentElement)
  const v = (name) => css.getPropertyValue(name).trim()
  return {
    text: v('--muted'),
    grid: v('--grid'),
    bg: v('--panel'),
    in: v('--c-in'),
    inFill: v('--c-in-fill'),
    folded: v('--c-folded'),
    lag: v('--c-lag'),
    batch: v('--c-batch'),
    speed: v('--c-speed'),
    merged: v('--c-merged'),
    font: `11px ${v('--font')}`,
    fontFamily: v('--font'),
  }
}

function axis(t, extra = {}) {
  return {
    stroke: t.text,
    font: t.font,
    grid: { stroke: t.grid, width: 1 },
    ticks: { stroke: t.grid, width: 1, size: 4 },
    ...extra,
  }
}

/**
 * Creates a uPlot chart in `el` that keeps the width of `el`. The page draws its own legends:
 * `onHover(i | null)` follows the cursor over the data points.
 */
function mount(el, height, options, data, onHover) {
  const width = Math.max(200, Math.floor(el.clientWidth))
  const hooks = { ...options.hooks }
  if (onHover) hooks.setCursor = [(u) => onHover(u.cursor.idx ?? null)]
  const u = new uPlot({ width, height, legend: { show: false }, ...options, hooks }, data, el)
  let last = width
  const resize = new ResizeObserver(() => {
    const w = Math.max(200, Math.floor(el.clientWidth))
    if (w !== last) {
      last = w
      u.setSize({ width: w, height })
    }
  })
  resize.observe(el)
  return {
    u,
    destroy() {
      resize.disconnect()
      u.destroy()
    },
  }
}

/** Category positions 0..n-1 as axis ticks, thinned to leave `px` pixels or more per label. */
const categorySplits = (px) => (u, _axis, min, max) => {
  const first = Math.max(0, Math.ceil(min))
  const last = Math.floor(max)
  const room = Math.max(1, Math.floor(u.bbox.width / devicePixelRatio / px))
  const step = Math.max(1, Math.ceil((last - first + 1) / room))
  const splits = []
  // Count back from the last, so the most recent category always has its label.
  for (let i = last; i >= first; i -= step) splits.unshift(i)
  return splits
}

/**
 * Writes each bar's value above it: `top(u, i)` is the bar's top in data units, `text(u, i)` its
 * label. Skipped when the bars are too narrow for their labels.
 */
function barLabels(t, top, text) {
  return (u) => {
    const n = u.data[0].length
    if (n === 0 || u.bbox.width / n < 28 * devicePixelRatio) return
    const { ctx } = u
    ctx.save()
    ctx.font = `${Math.round(11 * devicePixelRatio)}px ${t.fontFamily}`
    ctx.fillStyle = t.text
    ctx.textAlign = 'center'
    ctx.textBaseline = 'bottom'
    for (let i = 0; i < n; i++) {
      const y = top(u, i)
      if (y == null) continue
      ctx.fillText(
        text(u, i),
        u.valToPos(u.data[0][i], 'x', true),
        u.valToPos(y, 'y', true) - 4 * devicePixelRatio,
      )
    }
    ctx.restore()
  }
}

// From the data, not from uPlot's min and max: for a single point uPlot proposes [x, x + 100].
const categoryRange = (u) => [-0.5, Math.max(0, u.data[0].length - 1) + 0.5]
const fromZero = (_u, _min, max) => [0, Math.max(10, (max ?? 0) * 1.15)]

/** Events per second over time: appended to the log, and folded by the speed layer. */
export function createRateChart(el, onHover) {
  const t = theme()
  const chart = mount(
    el,
    220,
    {
      cursor: { drag: { x: false, y: false }, points: { size: 7 }, y: false },
      // At least a minute wide, so a young chart grows from the right instead of stretching.
      scales: {
        x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] },
        y: { range: fromZero },
      },
      series: [
        {},
        { label: 'appended to the log', stroke: t.in, fill: t.inFill, width: 2 },
        { label: 'folded by the speed layer', stroke: t.folded, width: 1.5, dash: [5, 4] },
      ],
      axes: [
        axis(t, {
          space: 80,
          size: 32,
          // Whole seconds only: labels have a second's resolution. Up to the hour of history.
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
          values: (_u, splits) => splits.map((s) => formatClock(s * 1000)),
        }),
        axis(t, { size: 52, values: (_u, vals) => vals.map(formatBig) }),
      ],
    },
    [[], [], []],
    onHover,
  )
  return {
    ...chart,
    /** points: [{ at, rates: { in, folded } }], oldest first. */
    update(points) {
      chart.u.setData([
        points.map((p) => p.at / 1000),
        points.map((p) => p.rates.in),
        points.map((p) => p.rates.folded),
      ])
    },
  }
}

/** Records each partition's speed layer is behind the log's end, as bars with their values. */
export function createLagChart(el, onHover) {
  const t = theme()
  const chart = mount(
    el,
    220,
    {
      cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
      scales: { x: { time: false, range: categoryRange }, y: { range: fromZero } },
      series: [
        {},
        {
          label: 'lag',
          stroke: t.lag,
          fill: t.lag,
          width: 0,
          paths: uPlot.paths.bars({ size: [0.55, 56], radius: 0.15 }),
          points: { show: false },
        },
      ],
      axes: [
        axis(t, {
          splits: categorySplits(30),
          values: (_u, splits) => splits.map((i) => `p${i}`),
          grid: { show: false },
          size: 32,
        }),
        axis(t, { size: 52, values: (_u, vals) => vals.map(formatBig) }),
      ],
      hooks: {
        draw: [
          barLabels(
            t,
            (u, i) => u.data[1][i],
            (u, i) => formatBig(u.data[1][i]),
          ),
        ],
      },
    },
    [[], []],
    onHover,
  )
  return {
    ...chart,
    update(lag) {
      chart.u.setData([lag.map((_, p) => p), lag.map((l) => l ?? null)])
    },
  }
}

/**
 * A view's windows for one key: the batch part and the speed part of each window told apart.
 * `stacked` (count, sum): the speed part sits on the batch part and the bar's top is the merged
 * value. Otherwise (distinct counts, means, extremes: the merged value is not the sum of the
 * parts) the two parts stand side by side and the merged value is a dot.
 * `labels[i]` names window i on the axis; `onHover(i | null)` follows the cursor.
 */
export function createWindowsChart(el, { stacked, labels, onHover }) {
  const t = theme()
  let merged = []
  const bar = (align, size) => uPlot.paths.bars({ size: [size, 72], align, radius: 0.12 })
  const series = stacked
    ? [
        // Drawn first, from zero to batch + speed; the batch bar then covers its lower part.
        {
          label: 'speed',
          stroke: t.speed,
          fill: t.speed,
          width: 0,
          paths: bar(0, 0.6),
          points: { show: false },
        },
        {
          label: 'batch',
          stroke: t.batch,
          fill: t.batch,
          width: 0,
          paths: bar(0, 0.6),
          points: { show: false },
        },
      ]
    : [
        {
          label: 'batch',
          stroke: t.batch,
          fill: t.batch,
          width: 0,
          paths: bar(-1, 0.32),
          points: { show: false },
        },
        {
          label: 'speed',
          stroke: t.speed,
          fill: t.speed,
          width: 0,
          paths: bar(1, 0.32),
          points: { show: false },
        },
        {
          label: 'merged',
          stroke: t.merged,
          width: 2,
          paths: () => null,
          points: { show: true, size: 9, width: 2, stroke: t.merged, fill: t.bg },
        },
      ]
  const chart = mount(
    el,
    260,
    {
      cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
      scales: { x: { time: false, range: categoryRange }, y: { range: fromZero } },
      series: [{}, ...series],
      axes: [
        axis(t, {
          splits: categorySplits(60),
          values: (_u, splits) => splits.map((i) => labels()[i] ?? ''),
          grid: { show: false },
          size: 32,
        }),
        axis(t, { size: 56, values: (_u, vals) => vals.map(formatBig) }),
      ],
      hooks: {
        draw: [
          barLabels(
            t,
            (u, i) => (stacked ? u.data[1][i] : Math.max(u.data[1][i], u.data[2][i], u.data[3][i])),
            (_u, i) => formatBig(merged[i]),
          ),
        ],
      },
    },
    stacked ? [[], [], []] : [[], [], [], []],
    onHover,
  )
  return {
    ...chart,
    stacked,
    /** windows: [{ batch, speed, value }] with numbers. */
    update(windows) {
      const x = windows.map((_, i) => i)
      const batch = windows.map((w) => w.batch)
      const speed = windows.map((w) => w.speed)
      merged = windows.map((w) => w.value)
      chart.u.setData(
        stacked
          ? [x, windows.map((w) => w.batch + w.speed), batch]
          : [x, batch, speed, windows.map((w) => w.value)],
      )
    },
  }
}

/** Up from zero, or down from it when values are negative; never an empty range. */
const figureRange = (_u, min, max) => {
  const lo = Math.min(0, (min ?? 0) * 1.15)
  const hi = Math.max(0, (max ?? 0) * 1.15)
  return hi > lo ? [lo, hi] : [lo, lo + 1]
}

/** Colours of the quantile series, lowest quantile first (the CSS legend uses the same order). */
const quantileColours = (t) => [t.batch, t.in, t.merged, t.lag, t.folded, t.speed]

/**
 * A quantiles view's answer (core/monoids/quantiles.ts). `windowed`: a line per quantile (p50,
 * p95, p99 …) across the windows, `labels()` naming the windows. Otherwise the distribution of
 * the one value: a bar per figure (min, p50 … max), each labelled to 3 significant digits.
 * `onHover(i | null)` follows the cursor over the windows or bars.
 */
export function createQuantilesChart(el, { windowed, names, labels, onHover }) {
  const t = theme()
  const colours = quantileColours(t)
  const series = windowed
    ? names.map((name, i) => ({
        label: name,
        stroke: colours[i % colours.length],
        width: 2,
        points: { show: true, size: 7, width: 2, stroke: colours[i % colours.length], fill: t.bg },
      }))
    : [
        {
          label: 'value',
          stroke: t.merged,
          fill: t.merged,
          width: 0,
          paths: uPlot.paths.bars({ size: [0.55, 64], radius: 0.12 }),
          points: { show: false },
        },
      ]
  const chart = mount(
    el,
    240,
    {
      cursor: { drag: { x: false, y: false }, points: { show: windowed }, y: false },
      scales: { x: { time: false, range: categoryRange }, y: { range: figureRange } },
      series: [{}, ...series],
      axes: [
        axis(t, {
          splits: categorySplits(windowed ? 60 : 40),
          values: (_u, splits) => splits.map((i) => labels()[i] ?? ''),
          grid: { show: false },
          size: 32,
        }),
        axis(t, { size: 56, values: (_u, vals) => vals.map(formatFigure) }),
      ],
      hooks: windowed
        ? {}
        : {
            draw: [
              barLabels(
                t,
                (u, i) => u.data[1][i],
                (u, i) => formatFigure(u.data[1][i]),
              ),
            ],
          },
    },
    [[], ...series.map(() => [])],
    onHover,
  )
  return {
    ...chart,
    kind: windowed ? 'quantiles' : 'distribution',
    names,
    /** windowed: values [{ count, min, max, p50, … }] one per window; else [[label, figure]]. */
    update(values) {
      const x = values.map((_, i) => i)
      chart.u.setData(
        windowed
          ? [x, ...names.map((name) => values.map((v) => (v.count > 0 ? v[name] : null)))]
          : [x, values.map(([, figure]) => figure)],
      )
    },
  }
}
