// Views written to mislead the batch layer's projected fold (core/view-fields.ts decides, from the
// source text of a view's functions, which fields it reads and whether one refilled object per
// record layout may stand for each event; master-dataset/packed-cursor.ts). Each case folds the
// same events three ways — projected (as the batch layer does), whole decoded events, and
// JSON.parse of each event's text — and asks for the same tables and the same errors. The views
// are built afresh for each fold, since some of them keep state across events on purpose.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { crc32 } from 'node:zlib'
import { foldPartition } from '../../src/batch/partition-fold.ts'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { max } from '../../src/core/monoids/extremes.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { topK } from '../../src/core/monoids/top-k.ts'
import { type View, view } from '../../src/core/view.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { tumbling } from '../../src/core/window.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import type { PackedHeader } from '../../src/master-dataset/packed-segment.ts'
import { segmentFileName } from '../../src/master-dataset/segment-format.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

const T0 = Date.UTC(2026, 0, 1)

/** Runs of one layout (so refilled objects are reused), with a second layout interleaved. */
const TRAFFIC = Array.from({ length: 60 }, (_, i) =>
  JSON.stringify(
    i % 10 === 9
      ? { url: `/p${i % 4}`, type: 'click', ts: T0 + i * 60_000 }
      : {
          type: i % 3 ? 'page_view' : 'click',
          url: `/p${i % 4}`,
          user: `u${i % 5}`,
          n: i,
          ts: T0 + i * 60_000,
        },
  ),
)

async function writePartition(root: string, texts: string[], perSegment: number): Promise<void> {
  const store = await SegmentStore.open(root)
  for (let start = 0; start < texts.length; start += perSegment) {
    const builder = new SegmentBuilder()
    const end = Math.min(texts.length, start + perSegment)
    for (let offset = start; offset < end; offset++) {
      builder.add({ offset, timestamp: offset, key: null, value: Buffer.from(texts[offset]!) })
    }
    await store.writeSegment(0, { start, end }, builder.data(), builder.packer())
  }
}

function dump(view: CompiledView<any, any>, table: ViewTable<unknown>): string[] {
  return [...table.entries()]
    .map(([key, start, state]) => JSON.stringify([start, key, view.monoid.encode(state)]))
    .sort()
}

let run = 0

/**
 * Folds `texts` with the views `make()` returns: projected as the batch layer would, over whole
 * events, and over JSON.parse of each text; all three must agree. Returns the views' fields.
 */
async function sameFold(
  t: TestContext,
  make: () => View<any, any, any>[],
  texts: string[] = TRAFFIC,
): Promise<Array<readonly string[] | null>> {
  const compile = () => make().map((v) => compileView(v, 'ts'))
  const root = join(await tempDir(t, `strata-adversarial-${run++}-`), 'master')
  await writePartition(root, texts, 25)
  const to = texts.length
  const projectedViews = compile()
  const projected = await foldPartition({ root, partition: 0, to, views: projectedViews })
  const wholeViews = compile().map((v) => ({ ...v, fields: null }))
  const whole = await foldPartition({ root, partition: 0, to, views: wholeViews })
  const plainViews = compile()
  const plain = plainViews.map((v) => ({
    table: v.createTable() as ViewTable<unknown>,
    errors: [] as string[],
  }))
  for (const [offset, text] of texts.entries()) {
    const event = JSON.parse(text)
    for (const [i, v] of plainViews.entries()) {
      try {
        v.fold(plain[i]!.table as ViewTable<any>, event)
      } catch (thrown) {
        plain[i]!.errors.push(`${offset} ${(thrown as Error).message}`)
      }
    }
  }
  for (const [i, v] of projectedViews.entries()) {
    const expected = dump(v, plain[i]!.table)
    assert.deepEqual(dump(v, projected.tables[i]!), expected, `${v.name}: projected fold`)
    assert.deepEqual(dump(v, whole.tables[i]!), expected, `${v.name}: whole events`)
    const recorded = (fold: typeof projected) =>
      fold.errors[i]!.recent.map((e) => `${e.offset} ${e.message.replace(/^\w+: /, '')}`)
    assert.deepEqual(recorded(projected), plain[i]!.errors.slice(-20), `${v.name}: errors`)
    assert.deepEqual(recorded(whole), plain[i]!.errors.slice(-20), `${v.name}: errors of whole events`)
  }
  return projectedViews.map((v) => v.fields)
}

test('a comment ending in a full stop does not hide the field read after it', async (t) => {
  const fields = await sameFold(t, () => [
    view<any>('commented')
      .filter(
        (e) =>
          // Only page views.
          e.type === 'page_view',
      )
      .key(
        (e) =>
          // By page.
          e.url,
      )
      .aggregate(count()),
  ])
  assert.deepEqual(fields, [['type', 'url']])
})

test('a field written through a comment or parentheses is not taken for a read', async (t) => {
  // Each event is seen once: a view that marks it sees no mark. A refilled object would carry the
  // mark (a field the layout does not have) from one record to the next.
  await sameFold(t, () => [
    view<any>('mark_commented')
      .filter((e) => {
        const fresh = e.seen === undefined
        e.seen /* mark it */ = true
        return fresh
      })
      .key(() => 'all')
      .aggregate(count()),
  ])
  await sameFold(t, () => [
    view<any>('mark_parenthesized')
      .filter((e) => {
        const fresh = e.seen === undefined
        // biome-ignore format: the parentheses are what is tested
        e.seen = true
        return fresh
      })
      .key(() => 'all')
      .aggregate(count()),
  ])
  await sameFold(t, () => [
    view<any>('bump_parenthesized')
      .key(() => 'all')
      // biome-ignore format: the parentheses are what is tested
      .aggregate(sum((e) => (e.hits = (e.hits ?? 0) + 1))),
  ])
})

test('a closure over the event, kept from one event to the next, sees its own event', async (t) => {
  // Counts the events whose url differs from the previous event's: a closure and a getter that
  // read `e.url` later keep the object, though they never name it alone.
  await sameFold(t, () => {
    let previous: (() => unknown) | undefined
    return [
      view<any>('closure')
        .filter((e) => {
          const before = previous
          previous = () => e.url
          return before === undefined || before() !== e.url
        })
        .key(() => 'all')
        .aggregate(count()),
    ]
  })
  await sameFold(t, () => {
    let previous: { url: unknown } | undefined
    return [
      view<any>('getter')
        .filter((e) => {
          const before = previous
          previous = {
            get url() {
              return e.url
            },
          }
          return before === undefined || before.url !== e.url
        })
        .key(() => 'all')
        .aggregate(count()),
    ]
  })
})

// Cases that hold: kept as regressions of what the refilled objects must keep exact.
test('nested values are fresh per event: mutated, kept by a map, counted as items', async (t) => {
  const texts = Array.from({ length: 60 }, (_, i) =>
    JSON.stringify({ meta: { k: `k${i % 3}`, tags: ['a'] }, n: i, ts: T0 + i }),
  )
  const fields = await sameFold(
    t,
    () => [
      // Mutates a nested array of the event (not its own fields), then a later view reads it.
      view<any>('push')
        .filter((e) => e.meta.tags.push('x') > 0)
        .key((e) => e.meta.k)
        .aggregate(count()),
      view<any>('tags_seen')
        .key((e) => e.meta.tags.length)
        .aggregate(count()),
      view<any>('payload')
        .map((e) => e.meta)
        .key((m: any) => m.k)
        .aggregate(topK(2, (m: any) => m)),
      view<any>('payload_distinct')
        .key(() => 'all')
        .window(tumbling('1h'))
        .aggregate(distinctCount((e) => e.meta)),
    ],
    texts,
  )
  assert.deepEqual(fields, [['meta'], ['meta'], ['meta'], ['meta', 'ts']])
})

test('odd events: duplicate keys, huge and negative-zero numbers, null against missing, not objects', async (t) => {
  const texts = [
    '{"url":"/a","url":"/b","n":1,"ts":1}',
    '{"url":"/a","n":12345678901234567890,"ts":2}',
    '{"url":"/a","n":-0,"ts":3}',
    '{"url":null,"n":null,"ts":4}',
    '{"n":2,"ts":5}',
    '{"url":"/a","n":2}',
    '{"url":"/a","n":2,"ts":"2026-01-01T00:00:00Z"}',
    '{"url":"/a","n":2,"ts":"yesterday"}',
    '[1,2]',
    '"text"',
    'null',
    '{"url":"/\\ud800","n":3,"ts":6}',
    `{"url":"${'x'.repeat(100_000)}","n":4,"ts":7}`,
    '{"0":"zero","url":"/a","n":5,"ts":8}',
  ]
  await sameFold(
    t,
    () => [
      view<any>('by_url')
        .key((e) => e.url)
        .window(tumbling('1h'))
        .aggregate(sum((e) => e.n)),
      view<any>('max_n')
        .key((e) => typeof e.url)
        .aggregate(max((e) => e.n)),
      view<any>('n_text')
        .key((e) => `${e.n}`)
        .aggregate(count()),
    ],
    [...texts, ...texts],
  )
})

// Session 16 review: the reusing cursor now hands out an object whose fields are getters over the
// columns (packed-cursor.ts, lazyViewFor). Each way a view can see more of the event than
// `e.field` must either be routed to whole events (fields null) or give the same answer.
const PLAIN = Array.from({ length: 60 }, (_, i) =>
  JSON.stringify(
    i % 10 === 9
      ? { url: `/p${i % 4}`, type: 'click', ts: T0 + i * 60_000 }
      : i % 10 === 8
        ? { url: `/p${i % 4}`, type: 'click', user: null, n: null, ts: T0 + i * 60_000 }
        : {
            type: i % 3 ? 'page_view' : 'click',
            url: `/p${i % 4}`,
            user: `u${i % 5}`,
            n: i,
            ts: T0 + i * 60_000,
          },
  ),
)

test('a view that reads the event other than as e.field gets whole events, with the same answer', async (t) => {
  const name = 'url'
  const kept: any[] = []
  let previous: any
  const cases: Array<[string, () => View<any, any, any>]> = [
    [
      'computed',
      () =>
        view<any>('computed')
          .key((e) => e[name])
          .aggregate(count()),
    ],
    [
      'destructured_param',
      () =>
        view<any>('destructured_param')
          .key(({ url }: any) => url)
          .aggregate(count()),
    ],
    [
      'destructured_body',
      () =>
        view<any>('destructured_body')
          .key((e) => {
            const { url, user } = e
            return `${url}${user}`
          })
          .aggregate(count()),
    ],
    [
      'spread',
      () =>
        view<any>('spread')
          .key((e) => JSON.stringify({ ...e, ts: 0 }))
          .aggregate(count()),
    ],
    [
      'keys',
      () =>
        view<any>('keys')
          .key((e) => Object.keys(e).join())
          .aggregate(count()),
    ],
    [
      'stringify',
      () =>
        view<any>('stringify')
          .key((e) => JSON.stringify(e))
          .aggregate(count()),
    ],
    [
      'in',
      () =>
        view<any>('in')
          .key((e) => `${'user' in e}`)
          .aggregate(count()),
    ],
    [
      'has_own_property',
      () =>
        view<any>('has_own_property')
          .key((e) => `${Object.hasOwn(e, 'user')}`)
          .aggregate(count()),
    ],
    [
      'has_own',
      () =>
        view<any>('has_own')
          .key((e) => `${Object.hasOwn(e, 'user')}`)
          .aggregate(count()),
    ],
    [
      'closure',
      () =>
        view<any>('closure')
          .key((e) => `${['/p1'].some((u) => u === e.url)}`)
          .aggregate(count()),
    ],
    [
      'kept',
      () =>
        view<any>('kept')
          .filter((e) => kept.push(e) > 0)
          .key(() => `${kept.length > 1 ? kept[kept.length - 2].url : 'first'}`)
          .aggregate(count()),
    ],
    [
      'previous',
      () =>
        view<any>('previous')
          .filter((e) => {
            const same = e === previous
            previous = e
            return !same
          })
          .key(() => 'all')
          .aggregate(count()),
    ],
    [
      'proto',
      () =>
        view<any>('proto')
          // biome-ignore lint/suspicious/noProto: reading __proto__ is what is tested
          .key((e) => `${e.__proto__ === Object.prototype}`)
          .aggregate(count()),
    ],
  ]
  for (const [label, make] of cases) {
    kept.length = 0
    previous = undefined
    const fields = await sameFold(
      t,
      () => {
        kept.length = 0
        previous = undefined
        return [make()]
      },
      PLAIN,
    )
    assert.deepEqual(fields, [null], `${label}: routed to whole events`)
  }
})

test('a field read only in the filter, the key or the value, missing or null, reads as on the whole event', async (t) => {
  const fields = await sameFold(
    t,
    () => [
      view<any>('filter_only')
        .filter((e) => e.user !== undefined)
        .key(() => 'all')
        .aggregate(count()),
      view<any>('key_only')
        .key((e) => (e.user === undefined ? 'missing' : e.user === null ? 'null' : `${typeof e.user}`))
        .aggregate(count()),
      view<any>('value_only')
        .key(() => 'all')
        .aggregate(sum((e) => (e.n === undefined ? 1000 : e.n === null ? 100 : e.n))),
      view<any>('optional')
        .key((e) => `${e?.user?.length}`)
        .window(tumbling('1h'))
        .aggregate(max((e) => e?.n ?? -1)),
      view<any>('absent_everywhere')
        .key((e) => `${e.nowhere}`)
        .aggregate(count()),
    ],
    PLAIN,
  )
  assert.deepEqual(fields, [['user'], ['user'], ['n'], ['n', 'ts', 'user'], ['nowhere']])
})

test('events with fields named as Object.prototype members give the same answer', async (t) => {
  const texts = PLAIN.map((text, i) => {
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'][i % 5]!
    return i % 2 === 0 ? text.replace('{', `{"${odd}":"x${i}",`) : text
  })
  const fields = await sameFold(
    t,
    () => [
      view<any>('url')
        .key((e) => e.url)
        .aggregate(sum((e) => e.n ?? 0)),
      view<any>('user_type')
        .key((e) => `${typeof e.user}`)
        .aggregate(count()),
    ],
    texts,
  )
  assert.deepEqual(fields, [['n', 'url'], ['user']])
})

test('a string id outside its dictionary, read by a view through the lazy object, fails the fold as SEGMENT_CORRUPT, not as a view error', async (t) => {
  // The reusing cursor decodes a field when the view reads it (packed-cursor.ts, lazyViewFor), so
  // the dictionary's refusal is thrown inside the view's code; it must still end the fold as the
  // cursor's refusal did when event() decoded every field (CRCs valid: a writer's bug).
  const root = join(await tempDir(t, `strata-adversarial-${run++}-`), 'master')
  await writePartition(root, PLAIN, 60)
  const file = join(root, 'p0000', segmentFileName({ start: 0, end: 60 }).replace(/\.ndjson$/, '.packed'))
  const out = await readFile(file)
  const length = out.readUInt32LE(16)
  const header = JSON.parse(out.toString('utf8', 20, 20 + length)) as PackedHeader
  const section = header.sections[header.columns.find((c) => c.name === 'url')!.ids!]!
  out.writeUInt32LE(999, section[0] + 4 * 5)
  section[2] = crc32(out.subarray(section[0], section[0] + section[1]))
  const json = Buffer.alloc(length, ' ')
  json.write(JSON.stringify(header))
  json.copy(out, 20)
  out.writeUInt32LE(crc32(json), 12)
  await writeFile(file, out)
  const views = [
    view<any>('by_url')
      .key((e) => e.url)
      .aggregate(count()),
  ].map((v) => compileView(v, 'ts'))
  assert.deepEqual(views[0]!.fields, ['url'])
  await assert.rejects(foldPartition({ root, partition: 0, to: 60, views }), {
    code: 'STRATA_ERR_SEGMENT_CORRUPT',
  })
  // A view that catches what its own read throws must not swallow the refusal either.
  const catching = [
    view<any>('catching')
      .key((e) => {
        try {
          return e.url
        } catch {
          return 'caught'
        }
      })
      .aggregate(count()),
  ].map((v) => compileView(v, 'ts'))
  assert.deepEqual(catching[0]!.fields, ['url'])
  await assert.rejects(foldPartition({ root, partition: 0, to: 60, views: catching }), {
    code: 'STRATA_ERR_SEGMENT_CORRUPT',
  })
})
