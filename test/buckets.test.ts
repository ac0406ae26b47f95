/**
 * Issue 11: calendar buckets (`granularity`) on the Gupshup daily usage and
 * discount reports: ISO weeks and calendar months clipped to the range,
 * every day of the range a day of data, each metric rolled up by its rule,
 * totals unchanged, and re-bucketing answered from the day cache.
 */
import t from 'tap'
import { bucketOf, bucketPoints } from '../src/buckets.js'
import { addDays, isoDay } from '../src/days.js'
import { metric } from '../src/report.js'
import { GUPSHUP_APP, JSON_HEADERS, mockedGateway, simulatedGateway } from './helpers.js'

interface Point { start: string, end: string, dimensions: Record<string, string>, metrics: Record<string, number> }

const spans = (data: Array<{ start: string, end: string }>): string[][] => data.map((point) => [point.start, point.end])
const usage = (query: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}?${query}`

t.test('bucket edges: an ISO week across a month boundary, a range of one day, a leap February', async (t) => {
  t.equal(bucketOf('2024-02-04', 'week'), '2024-01-29', 'Sunday belongs to the week that began on Monday, in the month before')
  t.equal(bucketOf('2024-01-29', 'week'), '2024-01-29', 'Monday starts its week')
  t.equal(bucketOf('2024-02-29', 'month'), '2024-02-01')
  const defs = [metric('totalMsg', 'messages')]
  const day = (start: string, messages: number): Point => ({ start, end: start, dimensions: {}, metrics: { messages } })
  const points = [day('2024-01-30', 2), day('2024-02-01', 3), day('2024-02-05', 4), day('2024-02-29', 1)]
  t.same(spans(bucketPoints(points, { from: '2024-01-31', to: '2024-02-06' }, 'week', defs, '2099-01-01')),
    [['2024-01-31', '2024-02-04'], ['2024-02-05', '2024-02-06']], 'weeks clipped to the range, across January and February')
  t.same(bucketPoints(points, { from: '2024-01-31', to: '2024-02-06' }, 'week', defs, '2099-01-01').map((point) => point.metrics), [{ messages: 3 }, { messages: 4 }])
  for (const granularity of ['day', 'week', 'month'] as const) {
    t.same(bucketPoints(points, { from: '2024-02-05', to: '2024-02-05' }, granularity, defs, '2099-01-01'),
      [{ start: '2024-02-05', end: '2024-02-05', dimensions: {}, metrics: { messages: 4 } }], `one day is one ${granularity}`)
  }
  t.same(bucketPoints(points, { from: '2024-02-01', to: '2024-03-01' }, 'month', defs, '2099-01-01'),
    [{ start: '2024-02-01', end: '2024-02-29', dimensions: {}, metrics: { messages: 8 } }, { start: '2024-03-01', end: '2024-03-01', dimensions: {}, metrics: { messages: 0 } }],
    'a leap February is one bucket of 29 days')
  t.equal(bucketPoints(points, { from: '2024-02-01', to: '2024-02-29' }, 'day', defs, '2099-01-01').length, 29)
  t.same(spans(bucketPoints(points, { from: '2024-02-01', to: '2024-02-29' }, 'month', defs, '2024-02-10')), [['2024-02-01', '2024-02-10']], 'no day after the last one')
  t.same(bucketPoints(points, { from: '2024-02-11', to: '2024-02-29' }, 'month', defs, '2024-02-10'), [])
})

t.test('rollup rules per metric: counts and fees summed, the running bill is its last day’s, the cap its highest; neither is ever summed', async (t) => {
  const { app, gupshup } = await mockedGateway(t)
  const rows = [
    { date: '2024-01-29', currency: 'USD', totalMsg: 2, totalFees: 0.1, cumulativeBill: 1.5, gsCap: 75 },
    { date: '2024-01-31', currency: 'USD', totalMsg: 5, totalFees: 0.2, cumulativeBill: 3.25, gsCap: 80 },
    // A day with traffic whose row says no running bill: the week's is still the last day that has one.
    { date: '2024-02-02', currency: 'USD', totalMsg: 1, totalFees: 0.3, gsCap: 70 }
  ]
  gupshup.intercept({ path: /\/usage\?/, method: 'GET' }).reply(200, { status: 'success', partnerAppUsageList: rows }, { headers: JSON_HEADERS })
  const byDay = await app.inject(usage('from=2024-01-29&to=2024-02-06'))
  t.equal(byDay.statusCode, 200)
  const days = byDay.json().data as Point[]
  t.equal(days.length, 9, 'one point per day of the range')
  t.match(days[1].metrics, { messages: 0, feesTotal: 0, feesWhatsApp: 0, conversationsService: 0 }, 'a day without traffic: every additive metric 0')
  t.notOk('cumulativeBill' in days[1].metrics || 'gupshupFeeCap' in days[1].metrics, 'and no running bill or cap: the upstream said nothing')

  const weeks = await app.inject(usage('from=2024-01-29&to=2024-02-06&granularity=week'))
  t.equal(weeks.statusCode, 200)
  t.equal(weeks.headers['x-cache'], 'HIT', 're-bucketed from the cached days')
  const report = weeks.json()
  t.same(spans(report.data), [['2024-01-29', '2024-02-04'], ['2024-02-05', '2024-02-06']])
  t.match(report.data[0].metrics, { messages: 8, feesTotal: 0.6, cumulativeBill: 3.25, gupshupFeeCap: 80 })
  t.match(report.data[1].metrics, { messages: 0, feesTotal: 0 })
  t.notOk('cumulativeBill' in report.data[1].metrics || 'gupshupFeeCap' in report.data[1].metrics, 'a week without traffic has no running bill or cap')
  t.same(report.totals, byDay.json().totals, 'totals stay as they are')
  t.match(report.totals, { messages: 8, feesTotal: 0.6 })
  t.notOk('cumulativeBill' in report.totals || 'gupshupFeeCap' in report.totals)
  t.equal(report.paging.total, 2)

  const months = (await app.inject(usage('from=2024-01-29&to=2024-02-06&granularity=month'))).json()
  t.same(spans(months.data), [['2024-01-29', '2024-01-31'], ['2024-02-01', '2024-02-06']])
  t.match(months.data[0].metrics, { messages: 7, feesTotal: 0.3, cumulativeBill: 3.25, gupshupFeeCap: 80 })
  t.match(months.data[1].metrics, { messages: 1, feesTotal: 0.3, gupshupFeeCap: 70 })
  t.notOk('cumulativeBill' in months.data[1].metrics, 'February’s only traffic day named no running bill')
  t.same(months.totals, report.totals)
})

t.test('re-bucketing a cached range makes no upstream call; the discount month too; the catalog shows each rule', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const first = await app.inject(usage('from=2024-01-01&to=2024-03-31'))
  t.equal(first.statusCode, 200)
  t.equal(first.json().data.length, 91)
  const calls = sims.gupshup.calls.length
  for (const granularity of ['week', 'month', 'day']) {
    const res = await app.inject(usage(`from=2024-01-01&to=2024-03-31&granularity=${granularity}`))
    t.equal(res.statusCode, 200, granularity)
    t.equal(res.headers['x-cache'], 'HIT', granularity)
    t.same(res.json().totals, first.json().totals, `${granularity}: same totals`)
  }
  const sub = await app.inject(usage('from=2024-02-10&to=2024-02-20&granularity=week'))
  t.same(spans(sub.json().data), [['2024-02-10', '2024-02-11'], ['2024-02-12', '2024-02-18'], ['2024-02-19', '2024-02-20']])
  t.equal(sims.gupshup.calls.length, calls, 'no upstream call for any re-bucketing')
  t.equal((await app.inject(usage('from=2024-01-01&to=2024-03-31&granularity=day'))).body, first.body, 'granularity=day is the default')

  const month = `/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=2024&month=02`
  const daily = await app.inject(month)
  t.equal(daily.json().data.length, 29, 'the discount report: one point per day of a leap February')
  const discountCalls = sims.gupshup.otherCalls.length
  const weekly = await app.inject(`${month}&granularity=week`)
  t.equal(weekly.statusCode, 200)
  t.equal(weekly.headers['x-cache'], 'HIT')
  t.same(spans(weekly.json().data).slice(0, 2), [['2024-02-01', '2024-02-04'], ['2024-02-05', '2024-02-11']])
  t.same(weekly.json().totals, daily.json().totals)
  const monthly = (await app.inject(`${month}&granularity=month`)).json()
  t.same(spans(monthly.data), [['2024-02-01', '2024-02-29']])
  const lastBill = (daily.json().data as Point[]).findLast((point) => point.metrics.cumulativeBill !== undefined)?.metrics.cumulativeBill
  t.equal(monthly.data[0].metrics.cumulativeBill, lastBill, 'the month’s running bill is its last day’s, not a sum')
  t.equal(sims.gupshup.otherCalls.length, discountCalls, 'the cached month re-bucketed without an upstream call')
  t.not(weekly.headers.etag, daily.headers.etag, 'each bucketing has its own ETag')
  t.equal((await app.inject({ url: `${month}&granularity=week`, headers: { 'if-none-match': String(weekly.headers.etag) } })).statusCode, 304)

  const catalog = (await app.inject('/usage')).json()
  const reports = catalog.providers.find((provider: { name: string }) => provider.name === 'gupshup').reports as Array<{ route: string, metrics: Array<{ name: string, rollup: string }>, parameters: Array<{ name: string }> }>
  for (const route of ['/usage/gupshup/apps/{appId}', '/usage/gupshup/apps/{appId}/discount', '/usage/gupshup/usage']) {
    const report = reports.find((entry) => entry.route === route)
    const rules = Object.fromEntries(report?.metrics.map((entry) => [entry.name, entry.rollup]) ?? [])
    t.match(rules, { cumulativeBill: 'last', gupshupFeeCap: 'max', discount: 'sum', feesGupshup: 'sum' }, route)
    t.ok(report?.parameters.some((parameter) => parameter.name === 'granularity'), `${route} takes granularity`)
  }
})

t.test('a range that starts after tomorrow is a 400 naming from (or month), before any upstream call; a bad granularity is named', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const today = isoDay(Date.now())
  const later = addDays(today, 2)
  const cases: Array<[string, string]> = [
    [usage(`from=${later}&to=${addDays(later, 3)}`), 'from'],
    [`/usage/gupshup/usage?from=${later}&to=${addDays(later, 3)}`, 'from'],
    [usage('from=2024-01-01&to=2024-01-31&granularity=year'), 'granularity'],
    [usage('from=2024-01-01&to=2024-01-31&granularity=week&granularity=month'), 'granularity']
  ]
  const nextMonth = new Date(Date.now())
  nextMonth.setUTCDate(1)
  nextMonth.setUTCMonth(nextMonth.getUTCMonth() + 1)
  // Next month has begun by tomorrow only on the last day of a month.
  if (addDays(today, 1) < isoDay(nextMonth.getTime())) {
    cases.push([`/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=${nextMonth.getUTCFullYear()}&month=${nextMonth.getUTCMonth() + 1}`, 'month'])
  }
  for (const [url, parameter] of cases) {
    const res = await app.inject(url)
    t.equal(res.statusCode, 400, url)
    t.match(res.json(), { code: 'invalid_parameter', parameter }, url)
  }
  t.equal(sims.gupshup.calls.length + sims.gupshup.otherCalls.length, 0, 'nothing reached the upstream')
  const month = (await app.inject(usage(`from=${addDays(today, -3)}&to=${addDays(today, 30)}&granularity=month`))).json()
  t.equal(month.data.at(-1).end, addDays(today, 1), 'the last bucket ends tomorrow: days after it never appear')
})
