// The dashboard's end-to-end config: the example's views, and two quantiles views of the page
// load time the test's traffic carries (`ms`) — one in hopping windows, one over all time — so the
// page draws quantiles as charts and shows a hopping window's size and advance.
import example from '../../../examples/pageviews/strata.config.ts'
import { defineConfig, hopping, quantiles, view } from '../../../src/config.ts'

export default defineConfig({
  ...example,
  views: [
    ...example.views,
    // Page load time per URL: p50, p90, p99 over the last hour, every 15 minutes.
    view('load_ms_by_url')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(hopping({ size: '1h', advance: '15m' }))
      .aggregate(quantiles((e) => e.ms, { quantiles: [0.5, 0.9, 0.99] })),
    // Page load time of every page view, under the single key 'all'.
    view('load_ms')
      .filter((e) => e.type === 'page_view')
      .key(() => 'all')
      .aggregate(quantiles((e) => e.ms, { quantiles: [0.5, 0.9, 0.95, 0.99] })),
  ],
})
