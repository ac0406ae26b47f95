import t from 'tap'
import { prefersCsv } from '../src/csv.js'
import { addDays, daysBetween } from '../src/days.js'
import { nextCursorOf } from '../providers/apple/normalize.js'
import { guessMetric, toIsoDate } from '../src/report.js'
import { AppleQuota, BackoffGate, parseRateLimitHeader } from '../src/upstream/budget.js'
import { retryAfterSeconds, safeDetail } from '../src/upstream/http.js'
import { internalContext, recordUpstream } from '../src/upstream-timing.js'
import { canonicalQuery } from '../src/usage-service.js'

t.test('Retry-After: seconds or an HTTP date; anything else is unknown', async (t) => {
  const now = Date.parse('2026-10-21T07:28:00Z')
  t.equal(retryAfterSeconds('17'), 17)
  t.equal(retryAfterSeconds(['5', '9']), 5)
  t.equal(retryAfterSeconds('Wed, 21 Oct 2026 07:28:30 GMT', now), 30)
  t.equal(retryAfterSeconds('Wed, 21 Oct 2026 07:27:00 GMT', now), 0, 'a date in the past means now')
  t.equal(retryAfterSeconds('soon'), undefined)
  t.equal(retryAfterSeconds(undefined), undefined)
})

t.test('upstream text passed to callers is short and free of tokens', async (t) => {
  t.equal(safeDetail('  ', 'fallback'), 'fallback')
  t.equal(safeDetail(42, 'fallback'), 'fallback')
  t.equal(safeDetail('sent Bearer abc.def.ghi and eyJhbGciOi.eyJzdWIi.c2ln', 'x'), 'sent Bearer [redacted] and [redacted]')
  t.equal(safeDetail('x'.repeat(900), 'f').length, 500)
})

t.test('X-Rate-Limit: any key:value pairs; the lowest remaining figure counts', async (t) => {
  t.same(parseRateLimitHeader('user-hour-lim:3600;user-hour-rem:3599;user-minute-rem:12;junk;'), { 'user-hour-lim': 3600, 'user-hour-rem': 3599, 'user-minute-rem': 12 })
  let clock = 0
  const quota = new AppleQuota(50, 60_000, () => clock)
  quota.observe('k', 'user-hour-rem:3000;user-minute-rem:10;')
  t.match(quota.tryAcquire('k'), { retryAfterMs: 60_000 }, 'the per-minute figure is below the reserve')
  quota.observe('k', 'nothing useful')
  t.ok(quota.tryAcquire('k') !== undefined, 'a header without figures changes nothing')
  clock = 60_000
  t.equal(quota.tryAcquire('k'), undefined, 'one probe after the wait')
  t.ok(quota.tryAcquire('k') !== undefined, 'then waits again until new figures arrive')
  t.equal(new AppleQuota(50, 60_000).tryAcquire('unknown'), undefined)
})

t.test('the 429 back-off doubles up to its ceiling and clears on success', async (t) => {
  let clock = 0
  const gate = new BackoffGate(10_000, 25_000, () => clock)
  t.equal(gate.block('k'), 10_000)
  t.equal(gate.block('k'), 20_000)
  t.equal(gate.block('k'), 25_000)
  t.match(gate.check('k'), { retryAfterMs: 25_000 })
  clock = 25_000
  t.equal(gate.check('k'), undefined)
  gate.clear('k')
  t.equal(gate.block('k'), 10_000)
  t.equal(gate.block('k', 3_000), 3_000, 'Retry-After wins')
})

t.test('dates and metrics', async (t) => {
  t.equal(toIsoDate('2022-10-05'), '2022-10-05')
  t.equal(toIsoDate('2022-10-05T23:30:00-02:00'), '2022-10-06', 'date-times are read in UTC')
  t.equal(toIsoDate('October 5'), undefined)
  t.same(daysBetween('2024-02-27', '2024-03-01'), ['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01'])
  t.equal(addDays('2024-01-01', -1), '2023-12-31')
  t.match(guessMetric('newFeeKind'), { unit: 'currency', additive: true })
  t.match(guessMetric('monthlyCap'), { unit: 'currency', additive: false })
  t.match(guessMetric('readRatio'), { unit: 'ratio', additive: false })
  t.match(guessMetric('stickers'), { unit: 'count', additive: true })
})

t.test('Apple’s next page: meta.paging.nextCursor first, then links.next on the same origin only', async (t) => {
  const base = 'https://api.appstoreconnect.apple.com'
  const body = (links: { self: string, next?: string }, nextCursor?: string): Parameters<typeof nextCursorOf>[0] => ({ data: [], links, ...(nextCursor === undefined ? {} : { meta: { paging: { limit: 5, nextCursor } } }) })
  t.equal(nextCursorOf(body({ self: 'x', next: `${base}/v1/x?cursor=AAA` }, 'BBB'), base), 'BBB')
  t.equal(nextCursorOf(body({ self: 'x', next: `${base}/v1/x?cursor=AAA` }), base), 'AAA')
  t.equal(nextCursorOf(body({ self: 'x', next: '/v1/x?cursor=REL' }), base), 'REL', 'a relative link is on the same origin')
  t.equal(nextCursorOf(body({ self: 'x', next: 'http://[broken' }), base), null)
  t.equal(nextCursorOf(body({ self: 'x' }), base), null)
})

t.test('content negotiation: CSV only when preferred', async (t) => {
  t.equal(prefersCsv(undefined), false)
  t.equal(prefersCsv('text/csv'), true)
  t.equal(prefersCsv('text/csv;q=0.5, application/json'), false)
  t.equal(prefersCsv('application/json;q=0.1, text/csv;q=0.2'), true)
  t.equal(prefersCsv('text/html'), false, 'text/html is neither')
  t.equal(prefersCsv('text/*;q=0.9, */*;q=0.9'), false, 'a tie of wildcards stays JSON')
})

t.test('one spelling per query; an upstream call is tallied on the context it was made with', async (t) => {
  t.equal(canonicalQuery({ b: 2, a: 'x y', c: undefined }), 'a=x%20y&b=2')
  const context = internalContext()
  recordUpstream(context, 12)
  t.same(context.tally, { calls: 1, ms: 12 })
})
