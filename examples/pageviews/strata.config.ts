// The example that the demo (`strata start --demo`), the docs and the checks share.
// Events look like { "type": "page_view", "url": "/a", "user": "u42", "ts": 1767225600000 }.
import { count, defineConfig, distinctCount, topK, tumbling, view } from '../../src/config.ts'

export default defineConfig({
  source: { topic: 'events', partitions: 6, time: 'ts' },
  views: [
    // Page views per URL per hour.
    view('pageviews_by_url')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    // Distinct users per URL per day, over every event type.
    view('unique_users_by_url')
      .key((e) => e.url)
      .window(tumbling('1d'))
      .aggregate(distinctCount((e) => e.user)),
    // The 10 most viewed URLs of all time, under the single key 'all'.
    view('top_urls')
      .filter((e) => e.type === 'page_view')
      .key(() => 'all')
      .aggregate(topK(10, (e) => e.url)),
  ],
})
