// The dashboard page: follows GET /dashboard/stream (server-sent events: `hello` with the last
// hour of events per second, sampled by the server whether or not a page was open, then a `tick`
// per second) and draws it — status tiles, the roles of the process and what is wrong with them,
// events per second, lag per partition, views, partitions, batch runs — and hosts the view
// explorer.
import { fetchWithToken, hasToken, readEventStream } from './auth.js'
import { createLagChart, createRateChart } from './charts.js'
import { el, legendItem } from './dom.js'
import { createExplorer } from './explorer.js'
import {
  describeOffsets,
  formatAgo,
  formatBig,
  formatClock,
  formatCount,
  formatDuration,
  formatRate,
  formatWindowSpec,
  sumOffsets,
} from './format.js'

// The events-per-second chart spans what the server keeps (sampler.ts): the last hour.
const HISTORY_SPAN_MS = 3_600_000
const STALE_MS = 5000

const $ = (id) => document.getElementById(id)

const state = {
  intervalMs: 1000,
  points: [],
  /** Points of history the last hello brought (the server's, before any tick). */
  historyPoints: 0,
  sample: null,
  lastMessage: 0,
}

const hover = { rate: null, lag: null }
const charts = {
  rate: createRateChart($('chart-rate'), (i) => {
    hover.rate = i
    renderRateLegend()
  }),
  lag: createLagChart($('chart-lag'), (i) => {
    hover.lag = i
    renderLagLegend()
  }),
}
const explorer = createExplorer()

// For people poking at the page from the console, and for the end-to-end test.
window.strata = { state, charts, explorer }

function setConnection(kind, text) {
  const conn = $('conn')
  conn.dataset.state = kind
  $('conn-text').textContent = text
}

/** Rows of cells (text, or { text, class, title }) into a table body, as text only. */
function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement('tr')
      for (const cell of cells) {
        const td = document.createElement('td')
        const c = typeof cell === 'object' && cell !== null ? cell : { text: cell }
        td.textContent = c.text ?? ''
        if (c.class) td.className = c.class
        if (c.title) td.title = c.title
        tr.append(td)
      }
      return tr
    }),
  )
}

function latestRate(key) {
  for (let i = state.points.length - 1; i >= 0; i--) {
    const r = state.points[i].rates[key]
    if (r !== null && r !== undefined) return r
  }
  return null
}

function renderKpis(s) {
  $('kpi-rate').textContent = formatRate(latestRate('in'))
  const ingested = latestRate('ingested')
  $('kpi-rate-sub').textContent =
    ingested !== null && ingested > 0
      ? `per second · ${formatRate(ingested)}/s by POST /events`
      : 'per second'
  $('kpi-log').textContent = formatBig(s.totals.log)
  $('kpi-log-sub').textContent = s.endOffsets
    ? `records in ${s.endOffsets.length} partition${s.endOffsets.length === 1 ? '' : 's'}`
    : 'log unavailable'
  const lags = s.lag.filter((l) => l !== null)
  const lag = lags.length > 0 ? lags.reduce((a, b) => a + b, 0) : null
  $('kpi-lag').textContent = formatBig(lag)
  $('kpi-lag').dataset.level = lag === null ? '' : lag === 0 ? 'ok' : lag < 1000 ? 'warn' : 'bad'
  const run = s.batches[0]
  $('kpi-batch').textContent = run ? `v${run.version}` : '–'
  $('kpi-batch-sub').textContent = run
    ? `${formatAgo(run.completedAt, s.at)} · ${formatDuration(run.durationMs)} · ${formatBig(run.events)} events`
    : 'no run yet'
  const view = s.views[0]
  $('kpi-asof').textContent = view ? formatBig(sumOffsets(view.asOf)) : '–'
  $('kpi-asof-sub').textContent = view
    ? `records covered · horizon ${formatBig(sumOffsets(view.batch?.horizon ?? []))}`
    : 'no views'
  $('kpi-asof').title = view ? describeOffsets(view.asOf) : ''
}

/** The point under the cursor, else the latest. */
function renderRateLegend() {
  const points = state.points
  if (points.length === 0) return
  const p = points[hover.rate ?? points.length - 1] ?? points.at(-1)
  const rate = (r) => (r === null || r === undefined ? '–' : `${formatRate(r)}/s`)
  $('rate-legend').replaceChildren(
    el('span', { class: 'legend-window', text: formatClock(p.at) }),
    legendItem('in', 'appended to the log', rate(p.rates.in)),
    legendItem('folded', 'folded by the speed layer', rate(p.rates.folded)),
  )
}

/** The partition under the cursor with its offsets, else the totals. */
function renderLagLegend() {
  const s = state.sample
  if (s === null) return
  const p = hover.lag
  if (p !== null && p < s.lag.length) {
    $('lag-legend').replaceChildren(
      el('span', { class: 'legend-window', text: `partition ${p}` }),
      legendItem('lag', 'lag', formatCount(s.lag[p])),
      legendItem('plain', 'speed offset', formatCount(s.speed[p])),
      legendItem('plain', 'log end', formatCount(s.endOffsets?.[p])),
    )
    return
  }
  const known = s.lag.filter((l) => l !== null)
  const worst = known.length > 0 ? Math.max(...known) : null
  $('lag-legend').replaceChildren(
    el('span', { class: 'legend-window', text: `${s.lag.length} partitions` }),
    legendItem('lag', 'total lag', formatCount(known.reduce((a, b) => a + b, 0))),
    legendItem('plain', 'worst', worst === null ? '–' : `p${s.lag.indexOf(worst)} · ${formatCount(worst)}`),
  )
}

// A view defined with onError('stop') that threw: where, and that its layer stopped.
function describeStops(v) {
  const where = (v.stops ?? []).map((e) =>
    e.layer === 'batch'
      ? `the batch run at partition ${e.partition} offset ${e.offset}: ${e.message}`
      : `speed partition ${e.partition} at offset ${e.offset}: ${e.message}`,
  )
  return `view '${v.name}' (onError('stop')) threw and stopped ${where.join('; ')} — fix the view or the data, restart (GET /views/${v.name}/errors)`
}

function renderViews(s) {
  fillTable(
    $('views'),
    s.views.map((v) => {
      const lag = v.lag ? v.lag.reduce((a, b) => a + b, 0) : null
      const window = v.window ? ` · ${formatWindowSpec(v.window)}` : ''
      let status = { text: 'live', class: 'pill ok' }
      if (v.batch === null) status = { text: 'speed only', class: 'pill info', title: 'no batch run yet' }
      if (v.recomputing) status = { text: 'recomputing', class: 'pill warn', title: 'definition changed' }
      const errors = v.errors ? Math.max(v.errors.batch, v.errors.speed) : 0
      if (errors > 0) {
        status = {
          text: v.state === 'failing' ? 'failing' : `${formatCount(errors)} errors`,
          class: v.state === 'failing' ? 'pill bad' : 'pill warn',
          title: `the view's code threw on ${v.errors.batch} events of the batch version and ${v.errors.speed} in the speed layer; they are skipped by this view only (GET /views/${v.name}/errors)`,
        }
      }
      if (v.state === 'stopped') status = { text: 'stopped', class: 'pill bad', title: describeStops(v) }
      return [
        { text: v.name, class: 'name', title: v.name },
        { text: `${v.aggregate}${window}`, class: 'wide' },
        { text: v.batch ? `v${v.batch.version}` : '–', class: 'num' },
        {
          text: v.batch ? formatBig(sumOffsets(v.batch.horizon)) : '–',
          class: 'num wide',
          title: v.batch ? describeOffsets(v.batch.horizon) : '',
        },
        { text: formatBig(sumOffsets(v.asOf)), class: 'num', title: describeOffsets(v.asOf) },
        { text: formatCount(lag), class: 'num' },
        status,
      ]
    }),
  )
}

function renderPartitions(s) {
  const n = Math.max(s.endOffsets?.length ?? 0, s.speed.length)
  fillTable(
    $('partitions'),
    Array.from({ length: n }, (_, p) => [
      `p${p}`,
      { text: formatCount(s.endOffsets?.[p]), class: 'num' },
      { text: formatCount(s.speed[p]), class: 'num' },
      { text: formatCount(s.lag[p]), class: 'num' },
    ]),
  )
}

function renderBatches(s) {
  $('batches-empty').hidden = s.batches.length > 0
  fillTable(
    $('batches'),
    s.batches.map((b) => [
      { text: formatAgo(b.completedAt, s.at), title: new Date(b.completedAt).toLocaleString() },
      { text: b.view, class: 'name', title: b.view },
      { text: `v${b.version}`, class: 'num' },
      { text: formatBig(sumOffsets(b.horizon)), class: 'num wide', title: describeOffsets(b.horizon) },
      { text: formatDuration(b.durationMs), class: 'num' },
      { text: formatCount(b.events), class: 'num' },
      { text: formatCount(b.groups), class: 'num wide' },
    ]),
  )
}

function render() {
  const s = state.sample
  if (s === null) return
  renderKpis(s)
  charts.rate.update(state.points)
  charts.lag.update(s.lag)
  renderRateLegend()
  renderLagLegend()
  renderViews(s)
  renderPartitions(s)
  renderBatches(s)
  explorer.setViews(s.views)
  $('updated').textContent = `updated ${formatClock(s.at)}`
  renderRoles(s)
  renderProblems(s)
}

// How bad each role state is (core/role-health.ts): failed and stalled make /health 503.
const LEVEL = {
  running: 'ok',
  starting: 'info',
  'catching-up': 'info',
  degraded: 'warn',
  stalled: 'bad',
  failed: 'bad',
}

/** Each role of the process with its state; why, when it is not running. */
function renderRoles(s) {
  const roles = s.roles ?? []
  $('roles').hidden = roles.length === 0
  $('roles').replaceChildren(
    el('span', { class: 'roles-label', text: 'Roles' }),
    ...roles.map((r) =>
      el('span', { class: `role ${LEVEL[r.state] ?? 'warn'}`, 'data-role': r.role, 'data-state': r.state }, [
        el('span', { class: 'role-dot' }),
        el('strong', { text: r.role }),
        el('span', { class: 'role-state', text: r.state }),
        // A worker of another process (strata worker serve): which one, and when it was last heard.
        ...(r.where ? [el('span', { class: 'role-where', text: r.where })] : []),
        ...(r.reason ? [el('span', { class: 'role-reason', text: r.reason, title: r.reason })] : []),
      ]),
    ),
  )
}

/**
 * Everything wrong, worst first, one line each — what /health reports as down or degraded: a
 * role failed, stalled or degraded, the store unreadable, the log unreadable or outrun by its
 * retention (records deleted unread), a view whose code throws on most events.
 */
function renderProblems(s) {
  const problems = []
  for (const r of s.troubles ?? []) {
    problems.push({
      level: LEVEL[r.state] ?? 'warn',
      text: `${r.role} ${r.state}${r.reason ? `: ${r.reason}` : ''}`,
    })
  }
  if (s.error) problems.push({ level: 'bad', text: s.error })
  if (s.logError) {
    const outran = s.logError.startsWith('STRATA_ERR_RETENTION_OUTRAN')
    problems.push({
      level: outran ? 'bad' : 'warn',
      text: outran
        ? `log: ${s.logError} — answers miss them for good (docs/master-dataset.md)`
        : `log: ${s.logError}`,
    })
  }
  for (const v of s.views.filter((v) => v.state === 'stopped'))
    problems.push({ level: 'bad', text: `stopped: ${describeStops(v)}` })
  const failing = s.views.filter((v) => v.state === 'failing').map((v) => v.name)
  if (failing.length > 0) {
    problems.push({
      level: 'warn',
      text: `failing: ${failing.join(', ')} — the view's code throws on most events (GET /views/${failing[0]}/errors)`,
    })
  }
  const order = { bad: 0, warn: 1, info: 2 }
  problems.sort((a, b) => order[a.level] - order[b.level])
  const banner = $('banner')
  banner.replaceChildren(
    ...problems.map((p) => el('span', { class: `problem ${p.level}`, 'data-level': p.level, text: p.text })),
  )
  banner.dataset.level = problems[0]?.level ?? ''
  banner.hidden = problems.length === 0
}

const onStream = {
  hello: (event) => {
    const hello = JSON.parse(event.data)
    state.intervalMs = hello.intervalMs
    state.points = hello.history
    state.historyPoints = hello.history.length
    state.sample = hello.sample
    state.lastMessage = Date.now()
    setConnection('live', 'live')
    render()
  },
  tick: (event) => {
    const sample = JSON.parse(event.data)
    state.points.push({ at: sample.at, rates: sample.rates })
    const cutoff = sample.at - HISTORY_SPAN_MS
    const old = state.points.findIndex((p) => p.at >= cutoff)
    if (old > 0) state.points.splice(0, old)
    state.sample = sample
    state.lastMessage = Date.now()
    setConnection('live', 'live')
    render()
  },
}

function connect() {
  if (hasToken()) return connectWithToken()
  const source = new EventSource('/dashboard/stream')
  source.addEventListener('hello', onStream.hello)
  source.addEventListener('tick', onStream.tick)
  source.addEventListener('error', () => {
    // EventSource reconnects by itself (the server asks for 2 s), except after a non-200 answer:
    // a 401 means the server protects its queries, and the stream needs the token.
    if (source.readyState !== EventSource.CLOSED) return setConnection('down', 'reconnecting…')
    source.close()
    connectWithToken()
  })
}

// The stream over fetch with `Authorization: Bearer` (EventSource cannot send headers).
async function connectWithToken() {
  try {
    const response = await fetchWithToken('/dashboard/stream', { headers: { accept: 'text/event-stream' } })
    if (response.status === 401) return setConnection('down', 'needs the server’s token (reload to enter it)')
    if (!response.ok) throw new Error(`${response.status}`)
    await readEventStream(response, onStream)
  } catch {
    // A dropped stream or a restarting server: try again, as EventSource would.
  }
  setConnection('down', 'reconnecting…')
  setTimeout(connectWithToken, 2000)
}

setInterval(() => {
  if (
    state.lastMessage > 0 &&
    Date.now() - state.lastMessage > STALE_MS &&
    $('conn').dataset.state === 'live'
  ) {
    setConnection('stale', 'no update for a while')
  }
}, 1000)

connect()
