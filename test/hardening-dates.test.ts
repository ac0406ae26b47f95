/**
 * Issue 8, H1: days outside 2000-01-01 .. tomorrow + 1 year are a 400 naming
 * the parameter, before any upstream call; no day walk can run away.
 */
import t from 'tap'
import fc from 'fast-check'
import { DAY_MS, FIRST_DAY, MAX_WALK_DAYS, addDays, daysBetween, isoDay, lastDayOf } from '../src/days.js'
import { GUPSHUP_APP, simulatedGateway } from './helpers.js'

const usage = (from: string, to: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}?from=${from}&to=${to}`
const discount = (year: string, month: string): string => `/usage/gupshup/apps/${GUPSHUP_APP}/discount?year=${year}&month=${month}`

t.test('the edges of the date window: 9999-12-31 and 0000-01-01 are 400s naming the parameter; 2000-01-01 and tomorrow answer', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const today = isoDay(Date.now())
  const tomorrow = addDays(today, 1)
  const last = lastDayOf(Date.now())
  for (const [from, to, parameter] of [
    ['9999-12-31', '9999-12-31', 'from'],
    ['0000-01-01', '0000-01-01', 'from'],
    ['1999-12-31', '2000-01-01', 'from'],
    [today, addDays(last, 1), 'to'],
    [addDays(last, 1), addDays(last, 1), 'from']
  ]) {
    const res = await app.inject(usage(from, to))
    t.equal(res.statusCode, 400, `${from}..${to}`)
    t.match(res.json(), { code: 'invalid_parameter', parameter })
    t.match(res.json().detail, `from ${FIRST_DAY} to ${last}`, 'the detail says the window')
  }
  t.equal(sims.gupshup.calls.length, 0, 'nothing outside the window reaches the upstream')
  t.equal((await app.inject(usage('2000-01-01', '2000-01-31'))).statusCode, 200)
  t.equal((await app.inject(usage(today, tomorrow))).statusCode, 200)
  t.equal((await app.inject(usage(tomorrow, tomorrow))).statusCode, 200)
  // 366 days from tomorrow: the window's last day, but for a leap day on the way.
  const untilLast = await app.inject(usage(tomorrow, addDays(tomorrow, 365)))
  t.equal(untilLast.statusCode, 200, 'the last day of the window is in it')
  t.equal(untilLast.json().data.at(-1).start, tomorrow, 'days after tomorrow never appear')
  const later = await app.inject(usage(addDays(tomorrow, 1), last))
  t.equal(later.statusCode, 400, 'a range that starts after tomorrow')
  t.equal(later.json().parameter, 'from')
  t.equal((await app.inject('/health')).statusCode, 200, 'and the process is well')
})

t.test('a discount month outside the window is a 400 naming year', async (t) => {
  const { app } = await simulatedGateway(t)
  for (const [year, month] of [['1999', '12'], ['2199', '01'], [String(new Date().getUTCFullYear() + 2), '01']]) {
    const res = await app.inject(discount(year, month))
    t.equal(res.statusCode, 400, `${year}-${month}`)
    t.equal(res.json().parameter, 'year')
  }
  t.equal((await app.inject(discount('2000', '01'))).statusCode, 200)
})

t.test('the day walk compares times, not strings, across year 9999, and is bounded', async (t) => {
  t.same(daysBetween('9999-12-31', '9999-12-31'), ['9999-12-31'])
  t.same(daysBetween('9999-12-30', '+010000-01-01'), ['9999-12-30', '9999-12-31', '+010000-01-01'])
  t.throws(() => daysBetween('2000-01-01', '9999-12-31'), RangeError, 'a walk past MAX_WALK_DAYS throws at once')
  t.throws(() => daysBetween('not-a-day', '2000-01-01'), RangeError)
  t.equal(daysBetween('2024-01-01', addDays('2024-01-01', MAX_WALK_DAYS - 1)).length, MAX_WALK_DAYS)
  t.equal(lastDayOf(Date.parse('2024-02-28T12:00:00Z')), '2025-03-01', 'tomorrow (Feb 29) plus a year')
  t.equal(lastDayOf(Date.parse('2026-11-30T12:00:00Z')), '2027-12-01')
})

t.test('whatever days a caller sends, out of the window is a 400 naming it and no upstream call; in it, never a 400 or 5xx', async (t) => {
  const { app, sims } = await simulatedGateway(t)
  const last = lastDayOf(Date.now())
  const inWindow = (day: string): boolean => day >= FIRST_DAY && day <= last
  const days = fc.integer({ min: Date.UTC(0, 0, 1) - 1000 * DAY_MS, max: Date.UTC(9999, 11, 31) }).map((time) => isoDay(time))
    .filter((day) => /^\d{4}-\d{2}-\d{2}$/.test(day))
  await fc.assert(fc.asyncProperty(days, fc.integer({ min: 0, max: 40 }), async (from, length) => {
    const to = /^\d{4}-/.test(addDays(from, length)) ? addDays(from, length) : from
    const calls = sims.gupshup.calls.length
    const res = await app.inject(usage(from, to))
    if (!inWindow(from)) return res.statusCode === 400 && res.json().parameter === 'from' && sims.gupshup.calls.length === calls
    if (!inWindow(to)) return res.statusCode === 400 && res.json().parameter === 'to' && sims.gupshup.calls.length === calls
    if (from > addDays(isoDay(Date.now()), 1)) return res.statusCode === 400 && res.json().parameter === 'from' && sims.gupshup.calls.length === calls
    return res.statusCode === 200 || res.statusCode === 429
  }), { numRuns: 150, seed: 8 })
})
