// The view explorer: pick a view and a key, see the answer of GET /views/:view/:key?parts=true —
// per window, the batch part, the speed part and the merged value — as a chart and a table.
// A quantiles view (p50, p95, p99 … from a DDSketch) is drawn as a line per quantile across the
// windows, or as the distribution of its one value, with figures to 3 significant digits.
// Key suggestions come from GET /views/:view/top (ranked), or GET /dashboard/keys/:view for
// views whose values cannot be ranked. Every value from the API reaches the page as text
// (textContent), never as markup: keys are whatever the events carried.
import { fetchWithToken } from './auth.js'
import { createQuantilesChart, createWindowsChart } from './charts.js'
import { el, legendItem } from './dom.js'
import {
  describeOffsets,
  formatAgo,
  formatAnswer,
  formatBig,
  formatCount,
  formatFigure,
  formatQuantiles,
  formatValue,
  formatWindow,
  formatWindowRange,
  formatWindowSpec,
  isQuantiles,
  quantileNames,
  sumOffsets,
} from './format.js'

const ADDITIVE = new Set(['count', 'sum'])
const REFRESH_MS = 2000

const $ = (id) => document.getElementById(id)

async function getJson(url, signal) {
  const response = await fetchWithToken(url, { signal, headers: { accept: 'application/json' } })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) {
    const message = body?.error?.message ?? `${response.status} ${response.statusText}`
    throw Object.assign(new Error(message), { status: response.status })
  }
  return body
}

const viewPath = (view) => `/views/${encodeURIComponent(view)}`

export function createExplorer() {
  const form = $('explorer-form')
  const viewSelect = $('explorer-view')
  const keyInput = $('explorer-key')
  const keyList = $('explorer-keys')
  const rangeSelect = $('explorer-range')
  const live = $('explorer-live')
  const chartBox = $('explorer-chart')
  const legend = $('explorer-legend')
  const summary = $('explorer-summary')
  const table = $('explorer-windows')
  const valueBox = $('explorer-value')
  const message = $('explorer-message')

  /** name → view status (window, aggregate) from the live feed. */
  let views = new Map()
  /** The question on screen: { view, key, range }. */
  let asked = null
  let answer = null
  let chart = null
  let rows = []
  let controller = null
  let keysController = null
  let hovered = null
  /** Axis labels of the windows on screen. */
  let currentLabels = []

  function say(text, kind = 'info') {
    message.textContent = text
    message.dataset.kind = kind
    message.hidden = text === ''
  }

  /** Called with every sample's views: fills the view list once, keeps statuses current. */
  function setViews(statuses) {
    const before = [...views.keys()].join('\n')
    views = new Map(statuses.map((s) => [s.name, s]))
    if ([...views.keys()].join('\n') === before) return
    const selected = viewSelect.value
    viewSelect.replaceChildren(
      ...statuses.map((s) => {
        const window = s.window ? ` · ${formatWindowSpec(s.window)}` : ''
        return el('option', { value: s.name, text: `${s.name} (${s.aggregate}${window})` })
      }),
    )
    if (views.has(selected)) viewSelect.value = selected
    else {
      const windowed = statuses.find((s) => s.window !== null)
      viewSelect.value = (windowed ?? statuses[0])?.name ?? ''
      if (viewSelect.value) void loadKeys(true)
    }
    rangeSelect.disabled = views.get(viewSelect.value)?.window == null
  }

  /** Whether GET /views/:view/top can rank the view's keys (top-keys.ts: one number per key). */
  function rankable(status) {
    if (!status) return false
    if (['count', 'sum', 'distinctCount', 'min', 'max'].includes(status.aggregate)) return true
    return status.aggregate === 'mean' && status.window === null
  }

  /** Suggests keys for the selected view; with `pick`, asks the first one. */
  async function loadKeys(pick) {
    const view = viewSelect.value
    keysController?.abort()
    keysController = new AbortController()
    const { signal } = keysController
    let options = []
    try {
      if (!rankable(views.get(view))) throw new Error('not ranked')
      const top = await getJson(`${viewPath(view)}/top?limit=50`, signal)
      options = top.items.map((item) => ({ key: item.key, label: formatValue(item.value) }))
    } catch (error) {
      if (signal.aborted) return
      try {
        const some = await getJson(`/dashboard/keys/${encodeURIComponent(view)}?limit=50`, signal)
        options = some.keys.map((key) => ({ key, label: '' }))
      } catch {
        if (signal.aborted) return
        say(`no key suggestions for ${view}: ${error.message}`, 'warn')
      }
    }
    if (signal.aborted) return
    keyList.replaceChildren(...options.map((o) => el('option', { value: o.key, label: o.label })))
    keyInput.placeholder = options.length > 0 ? `e.g. ${options[0].key}` : 'a key'
    if (pick) {
      keyInput.value = options[0]?.key ?? ''
      if (keyInput.value !== '') await ask()
      else showNothing(`no keys in ${view} yet — they appear as events arrive`)
    }
  }

  function rangeOf(status) {
    const n = rangeSelect.value
    if (n === 'all' || status?.window == null) return {}
    const advance = status.window.advance
    const latest = Math.floor(Date.now() / advance) * advance
    return { from: latest - (Number(n) - 1) * advance }
  }

  /** Asks the view for the key in the form (or, when refreshing, the question on screen). */
  async function ask(refresh = false) {
    const view = refresh ? asked?.view : viewSelect.value
    const key = refresh ? asked?.key : keyInput.value
    if (!view || key === undefined || key === '') return
    const status = views.get(view)
    const range = rangeOf(status)
    const params = new URLSearchParams({ parts: 'true' })
    if (range.from !== undefined) params.set('from', String(range.from))
    controller?.abort()
    controller = new AbortController()
    const { signal } = controller
    try {
      const result = await getJson(`${viewPath(view)}/${encodeURIComponent(key)}?${params}`, signal)
      if (signal.aborted) return
      asked = { view, key, range }
      answer = result
      render(status)
      if (!refresh) say('')
    } catch (error) {
      if (signal.aborted) return
      if (!refresh) {
        asked = null
        showNothing(error.message, 'error')
      }
    }
  }

  function showNothing(text, kind = 'info') {
    answer = null
    chart?.destroy()
    chart = null
    chartBox.hidden = true
    legend.hidden = true
    table.hidden = true
    valueBox.hidden = true
    summary.replaceChildren()
    say(text, kind)
  }

  function stat(label, value, title = '') {
    return el('div', { class: 'stat', title }, [
      el('span', { class: 'stat-label', text: label }),
      el('span', { class: 'stat-value', text: value }),
    ])
  }

  function render(status) {
    const a = answer
    const stats = []
    if (a.windows) {
      const latest = a.windows.at(-1)
      if (latest && isQuantiles(latest.value)) {
        const median = quantileNames(latest.value)[0]
        stats.push(
          stat(`latest ${median}`, formatFigure(latest.value[median]), formatQuantiles(latest.value)),
        )
      } else {
        stats.push(stat('latest window', latest ? formatAnswer(latest.value, latest.overflow) : '–'))
      }
      stats.push(stat('windows', formatCount(a.windows.length)))
    } else if (isQuantiles(a.value)) {
      stats.push(stat('values', formatCount(a.value.count)))
    } else {
      const shown =
        typeof a.value === 'number' || a.overflow !== undefined
          ? formatAnswer(a.value, a.overflow)
          : kindOf(a.value)
      stats.push(stat('value', shown))
    }
    stats.push(
      stat(
        'batch',
        a.batch ? `v${a.batch.version}` : 'none yet',
        a.batch ? `horizon ${describeOffsets(a.batch.horizon)}` : '',
      ),
    )
    stats.push(stat('horizon', a.batch ? formatBig(sumOffsets(a.batch.horizon)) : '0'))
    stats.push(stat('as of', formatBig(sumOffsets(a.asOf)), describeOffsets(a.asOf)))
    if (a.batch) stats.push(stat('batch age', formatAgo(a.batch.completedAt)))
    if (a.recomputing) stats.push(stat('state', 'recomputing'))
    summary.replaceChildren(...stats)
    summary.dataset.asOf = JSON.stringify(a.asOf)

    if (a.windows) renderWindows(a, status)
    else renderValue(a)
  }

  function kindOf(value) {
    if (Array.isArray(value?.items)) return `${value.items.length} items`
    return typeof value
  }

  function renderWindows(a, status) {
    valueBox.hidden = true
    rows = a.windows
    const numeric = rows.every(
      (w) => typeof w.value === 'number' && typeof w.batch === 'number' && typeof w.speed === 'number',
    )
    const size = status?.window?.size ?? 0
    const days = new Set(rows.map((w) => new Date(w.windowStart).toDateString()))
    const labels = rows.map((w) => formatWindow(w.windowStart, size, days.size > 1))
    if (rows.length === 0) {
      showNothing(`no windows for “${a.key}” in this range`)
      return
    }
    const quantiles = rows.every((w) => isQuantiles(w.value))
    if (numeric) {
      const stacked = ADDITIVE.has(status?.aggregate)
      currentLabels = labels
      const kind = stacked ? 'stacked' : 'parts'
      showChart(kind, () => createWindowsChart(chartBox, { stacked, labels: () => currentLabels, onHover }))
      chartBox.dataset.stacked = String(stacked)
      chartBox.dataset.windows = String(rows.length)
      chart.update(rows)
      legend.hidden = false
      renderLegend()
    } else if (quantiles) {
      currentLabels = labels
      const names = quantileNames(rows.at(-1).value)
      showChart(`quantiles:${names}`, () =>
        createQuantilesChart(chartBox, { windowed: true, names, labels: () => currentLabels, onHover }),
      )
      delete chartBox.dataset.stacked
      chartBox.dataset.windows = String(rows.length)
      chart.update(rows.map((w) => w.value))
      legend.hidden = false
      renderLegend()
    } else {
      chart?.destroy()
      chart = null
      chartBox.hidden = true
      legend.hidden = true
    }
    renderTable(rows)
  }

  function onHover(i) {
    hovered = i
    renderLegend()
  }

  /** The chart of `kind` in the chart box, made by `create` unless it is already there. */
  function showChart(kind, create) {
    chartBox.hidden = false
    if (chart?.key === kind) return
    chart?.destroy()
    chartBox.replaceChildren()
    chart = { ...create(), key: kind }
    chartBox.dataset.kind = chart.kind ?? kind
  }

  function renderLegend() {
    if (answer?.windows === undefined) return renderDistributionLegend()
    if (rows.length === 0) return
    const i = hovered !== null && hovered < rows.length ? hovered : rows.length - 1
    const w = rows[i]
    if (isQuantiles(w.value)) {
      legend.replaceChildren(
        el('span', { class: 'legend-window', text: formatWindowRange(w.windowStart, w.windowEnd) }),
        ...quantileNames(w.value).map((name, q) =>
          legendItem(`q${q}`, name, w.value.count > 0 ? formatFigure(w.value[name]) : '–'),
        ),
        legendItem('plain', 'values', formatCount(w.value.count)),
      )
      return
    }
    legend.replaceChildren(
      el('span', { class: 'legend-window', text: formatWindowRange(w.windowStart, w.windowEnd) }),
      legendItem('batch', 'batch', formatValue(w.batch)),
      legendItem('speed', 'speed', formatValue(w.speed)),
      legendItem('merged', 'merged', formatAnswer(w.value, w.overflow)),
    )
  }

  function renderTable(windows) {
    table.hidden = false
    const body = table.tBodies[0]
    // Newest first: the live end of the stream is what people look at.
    body.replaceChildren(
      ...[...windows].reverse().map((w) =>
        el('tr', { 'data-window-start': String(w.windowStart) }, [
          el('td', { text: formatWindowRange(w.windowStart, w.windowEnd) }),
          partCell(w.batch),
          partCell(w.speed),
          el('td', {
            class: 'num merged',
            text: formatAnswer(w.value, w.overflow),
            'data-value': JSON.stringify(w.value),
          }),
        ]),
      ),
    )
  }

  /**
   * A window's batch or speed part. Quantiles of the parts do not add up to the merged ones (the
   * sketches merge, the figures do not), so a part shows how many values it holds, its figures
   * in the title.
   */
  function partCell(part) {
    if (isQuantiles(part)) {
      return el('td', { class: 'num', text: `n ${formatCount(part.count)}`, title: formatQuantiles(part) })
    }
    return el('td', { class: 'num', text: formatValue(part) })
  }

  /** The figures of a quantiles value, lowest first: [['min', 1.2], ['p50', 3.4], …, ['max', 9]]. */
  function figuresOf(v) {
    if (v.count === 0) return []
    return [['min', v.min], ...quantileNames(v).map((name) => [name, v[name]]), ['max', v.max]]
  }

  function renderDistributionLegend() {
    const v = answer?.value
    if (!isQuantiles(v)) return
    const figures = figuresOf(v)
    const f = hovered !== null && hovered < figures.length ? figures[hovered] : null
    legend.replaceChildren(
      el('span', { class: 'legend-window', text: `${formatCount(v.count)} values` }),
      ...(f
        ? [legendItem('merged', f[0], formatFigure(f[1]))]
        : figures.map(([name, figure]) => legendItem('plain', name, formatFigure(figure)))),
    )
  }

  function renderValue(a) {
    table.hidden = true
    valueBox.dataset.value = JSON.stringify(a.value)
    const v = a.value
    if (isQuantiles(v)) {
      valueBox.hidden = true
      const figures = figuresOf(v)
      if (figures.length === 0) {
        showNothing(`no values for “${a.key}” yet`)
        return
      }
      currentLabels = figures.map(([name]) => name)
      showChart('distribution', () =>
        createQuantilesChart(chartBox, { windowed: false, names: [], labels: () => currentLabels, onHover }),
      )
      delete chartBox.dataset.stacked
      chartBox.dataset.windows = '0'
      chart.update(figures)
      legend.hidden = false
      renderLegend()
      return
    }
    chart?.destroy()
    chart = null
    chartBox.hidden = true
    legend.hidden = true
    valueBox.hidden = false
    if (typeof v === 'number' || a.overflow !== undefined) {
      valueBox.replaceChildren(el('div', { class: 'big-value', text: formatAnswer(v, a.overflow) }))
    } else if (Array.isArray(v?.items) && v.items.every((i) => typeof i.count === 'number')) {
      const max = Math.max(1, ...v.items.map((i) => i.count))
      valueBox.replaceChildren(
        el(
          'ol',
          { class: 'ranking' },
          v.items.map((i) => {
            const barFill = el('span', { class: 'rank-fill' })
            barFill.style.width = `${(100 * i.count) / max}%`
            return el('li', {}, [
              el('span', { class: 'rank-item', text: String(i.item), title: String(i.item) }),
              el('span', { class: 'rank-bar' }, [barFill]),
              el('span', { class: 'rank-count num', text: formatCount(i.count) }),
            ])
          }),
        ),
        el('p', {
          class: 'hint',
          text: `${v.exact === false ? `approximate (max error ${formatCount(v.maxError)})` : 'exact'} · ${formatCount(v.total)} in total`,
        }),
      )
    } else {
      valueBox.replaceChildren(el('pre', { class: 'json', text: JSON.stringify(v, null, 2) }))
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void ask()
  })
  viewSelect.addEventListener('change', () => {
    rangeSelect.disabled = views.get(viewSelect.value)?.window == null
    void loadKeys(true)
  })
  keyInput.addEventListener('change', () => void ask())
  rangeSelect.addEventListener('change', () => void ask())
  setInterval(() => {
    if (live.checked && !document.hidden && asked !== null) void ask(true)
  }, REFRESH_MS)

  return {
    setViews,
    get answer() {
      return answer
    },
    get labels() {
      return currentLabels
    },
    /** The windows chart on screen ({ u: uPlot }), or null. */
    get chart() {
      return chart
    },
  }
}
