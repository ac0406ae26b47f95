/**
 * Issue 15: the usage explorer at /explorer/. First what the gateway serves
 * (the built page, its CSP, its settings, ROUTE_PREFIX, no other host named),
 * then the page itself in Debian's Chromium driven by playwright-core
 * against a gateway in demo mode. Every browser state is saved as a
 * screenshot in test-results/explorer/ for a person to open after the run.
 * Without Chromium the browser tests say so loudly and skip; CI installs it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildExplorer } from '../explorer/build.js'
import explorer, { BUILT_PAGE, EXPLORER_CSP } from '../plugins/explorer.js'
import { APPLE_SMALL_APP, GUPSHUP_APP, gateway, simulatedGateway, type SimulatedGateway } from './helpers.js'

// Heavier than the rest: several gateways and a browser, on a shared two-core machine.
t.setTimeout(300_000)

await buildExplorer(undefined, { force: true })

// CHROMIUM_PATH names another browser binary (or a missing one, to see the skip).
const CHROMIUM = (process.env.CHROMIUM_PATH !== undefined ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'])
  .find((path) => existsSync(path))
if (CHROMIUM === undefined) {
  process.stderr.write('\n*** Chromium is not installed: the usage explorer\'s BROWSER TESTS ARE SKIPPED (apt-get install chromium; .ci/run does) ***\n\n')
}
const noBrowser = CHROMIUM === undefined ? 'Chromium is not installed (apt-get install chromium)' : false

const SCREENSHOTS = new URL('../test-results/explorer/', import.meta.url)
mkdirSync(SCREENSHOTS, { recursive: true })

const SECOND_GUPSHUP_APP = '5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6'
const API_KEY = 'explorer-test-key-0123456789'

t.test('the gateway serves the built page, open, with a same-origin CSP, and its settings', async (t) => {
  const { app } = await gateway(t, { env: { LOG_LEVEL: 'silent' } })
  const page = await app.inject('/explorer/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /<title>Usage explorer<\/title>/)
  t.equal(page.headers['content-security-policy'], EXPLORER_CSP)
  t.match(EXPLORER_CSP, /connect-src 'self'/, 'the page may call its own origin only')
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  const script = await app.inject('/explorer/explorer.js')
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /javascript/)
  t.match(script.body, /Chart/, 'Chart.js is in the bundle, not fetched from elsewhere')
  const redirect = await app.inject('/explorer')
  t.equal(redirect.statusCode, 301)
  t.equal(redirect.headers.location, 'explorer/', 'relative: it holds behind a front that adds a path prefix')
  const settings = await app.inject('/explorer/config.json')
  t.same(settings.json(), { apiKeyRequired: false, routePrefix: '' })
  const spec = (await app.inject('/openapi.json')).json() as { paths: Record<string, unknown> }
  t.notOk(Object.keys(spec.paths).some((path) => path.includes('explorer')), 'the page is not an API route')
})

t.test('the built page names no other host: every asset is in the bundle', async (t) => {
  const files = readdirSync(BUILT_PAGE).filter((file) => !file.endsWith('.map') && !file.endsWith('.LEGAL.txt'))
  t.same(files.sort(), ['explorer.css', 'explorer.js', 'index.html'])
  for (const file of files) t.notMatch(readFileSync(`${BUILT_PAGE}/${file}`, 'utf8'), /https?:\/\//, `${file} names no URL`)
})

t.test('a second build with nothing changed does nothing, as tsc -b', async (t) => {
  const before = statSync(`${BUILT_PAGE}/explorer.js`).mtimeMs
  t.equal(await buildExplorer(), false)
  t.equal(statSync(`${BUILT_PAGE}/explorer.js`).mtimeMs, before, 'the bundle is left as it was')
})

t.test('with API keys the page stays open and says it needs one; /usage does not answer without one', async (t) => {
  const { app } = await gateway(t, { env: { LOG_LEVEL: 'silent', GATEWAY_API_KEYS: API_KEY } })
  t.equal((await app.inject('/explorer/')).statusCode, 200)
  t.same((await app.inject('/explorer/config.json')).json(), { apiKeyRequired: true, routePrefix: '' })
  t.equal((await app.inject('/usage')).statusCode, 401)
})

t.test('under ROUTE_PREFIX the page is under the prefix too', async (t) => {
  const { app } = await gateway(t, { env: { LOG_LEVEL: 'silent', ROUTE_PREFIX: '/usage-gateway' } })
  t.equal((await app.inject('/usage-gateway/explorer/')).statusCode, 200)
  t.same((await app.inject('/usage-gateway/explorer/config.json')).json(), { apiKeyRequired: false, routePrefix: '/usage-gateway' })
  t.equal((await app.inject('/usage-gateway/explorer')).headers.location, 'explorer/')
  t.equal((await app.inject('/explorer/')).statusCode, 404)
})

t.test('a gateway whose page was not built says so in its log and answers 404 there', async (t) => {
  const lines: string[] = []
  const fastify = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(async () => { await fastify.close() })
  await fastify.register(explorer, { apiKeyRequired: false, root: `${tmpdir()}/no-explorer-here-${process.pid}` })
  t.equal((await fastify.inject('/explorer/')).statusCode, 404)
  t.match(lines.join(''), /usage explorer is not built \(npm run build\)/)
})

// The browser tests.

interface Opened {
  page: Page
  base: string
  consoleErrors: string[]
  failedRequests: string[]
  requests: string[]
}

let browser: Browser | undefined
t.teardown(async () => { await browser?.close() })

async function listening (t: Test, env: Record<string, string> = {}): Promise<SimulatedGateway & { base: string }> {
  const gw = await simulatedGateway(t, { env: { LOG_LEVEL: 'silent', ...env } })
  await gw.app.listen({ port: 0, host: '127.0.0.1' })
  return Object.assign(gw, { base: `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}` })
}

async function open (t: Test, base: string, path = '/explorer/', viewport = { width: 1100, height: 900 }): Promise<Opened> {
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  const context = await browser.newContext({ viewport, acceptDownloads: true })
  t.teardown(async () => { await context.close() })
  const page = await context.newPage()
  const opened: Opened = { page, base, consoleErrors: [], failedRequests: [], requests: [] }
  page.on('console', (message) => { if (message.type() === 'error') opened.consoleErrors.push(message.text()) })
  page.on('pageerror', (error) => { opened.consoleErrors.push(error.message) })
  page.on('requestfailed', (request) => { opened.failedRequests.push(`${request.url()}: ${request.failure()?.errorText ?? ''}`) })
  page.on('request', (request) => { opened.requests.push(request.url()) })
  await page.goto(base + path)
  return opened
}

async function screenshot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true })
}

/** What the demo gateway offers beyond main's routes (issues 10 and 11), from its catalog. */
async function offers (gw: Pick<SimulatedGateway, 'app'>): Promise<{ granularity: boolean, fanOut: boolean, gupshupApps: boolean, appleApps: boolean, labels: boolean, buildUsages: boolean }> {
  const catalog = (await gw.app.inject('/usage')).json() as { providers: Array<{ name: string, reports: Array<{ route: string, parameters: Array<{ name: string }> }>, directories?: Array<{ route: string }> }> }
  const routes = catalog.providers.flatMap((provider) => [...provider.reports, ...(provider.directories ?? [])]) as Array<{ route: string, parameters: Array<{ name: string }> }>
  const route = (path: string): { parameters: Array<{ name: string }> } | undefined => routes.find((entry) => entry.route === path)
  const has = (path: string, parameter: string): boolean => route(path)?.parameters.some((entry) => entry.name === parameter) ?? false
  return {
    granularity: has('/usage/gupshup/apps/{appId}', 'granularity'),
    fanOut: route('/usage/gupshup/usage') !== undefined,
    gupshupApps: route('/usage/gupshup/apps') !== undefined,
    appleApps: route('/usage/apple/apps') !== undefined,
    labels: has('/usage/apple/apps/{appId}/beta-testers', 'labels'),
    buildUsages: route('/usage/apple/apps/{appId}/build-usages') !== undefined
  }
}

const offered = await offers(await gateway(t, { env: { LOG_LEVEL: 'silent' } }))

/** A skip reason, said loudly, while a route the test needs is not on this branch yet. */
function waitingFor (missing: boolean, what: string): string | false {
  if (!missing) return false
  process.stderr.write(`\n*** usage explorer: a browser test is SKIPPED, WAITING FOR ${what} on main ***\n\n`)
  return `WAITING FOR ${what}: this gateway's catalog does not list the route`
}

/** Picks an app in a panel (`*`: all apps): from the directory's list, or typed where the gateway has none (empty: all). */
async function chooseApp (page: Page, panel: 'gupshup' | 'apple', appId: string): Promise<void> {
  const field = page.locator(`#${panel}`).getByLabel('App', { exact: true })
  if (await field.evaluate((element) => element.tagName) === 'SELECT') await field.selectOption(appId)
  else await field.fill(appId === '*' ? '' : appId)
}

/** The UTC days of the last `days` days, as the page counts them. */
function lastDays (days: number): { from: string, to: string } {
  const now = Date.now()
  return { from: new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10), to: new Date(now).toISOString().slice(0, 10) }
}

async function tableRows (page: Page, result: string): Promise<string[][]> {
  return await page.locator(`${result} tbody tr`).evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent ?? '')))
}

t.test('the page loads with no console error, no failed request and no other host; no key field without keys', { skip: noBrowser }, async (t) => {
  const gw = await listening(t)
  const { page, consoleErrors, failedRequests, requests, base } = await open(t, gw.base)
  await page.locator('#gupshup').waitFor()
  await page.locator('#apple').waitFor()
  await t.resolves(page.getByText('Demo mode').waitFor(), 'it says the data is made up')
  t.notOk(await page.getByLabel('API key').isVisible(), 'no key field: the gateway has no keys')
  await screenshot(page, '01-loaded')
  t.same(consoleErrors, [])
  t.same(failedRequests, [])
  t.ok(requests.length >= 4, 'the page, its script, its style, its settings and the catalog')
  t.same(requests.filter((url) => !url.startsWith(base + '/') && !url.startsWith('blob:') && !url.startsWith('data:')), [], 'every request stays on the gateway')
})

t.test('one app over the last 30 days draws 30 days; switching to weeks redraws in week buckets', { skip: noBrowser || waitingFor(!offered.granularity, 'ISSUE 11 (granularity, a point per day)') }, async (t) => {
  const gw = await listening(t)
  const { page, consoleErrors } = await open(t, gw.base)
  await chooseApp(page, 'gupshup', GUPSHUP_APP)
  await page.getByLabel('Range').selectOption({ label: 'Last 30 days' })
  await page.getByLabel('Granularity').selectOption({ label: 'Days' })
  await page.locator('#gupshup').getByRole('button', { name: 'Show' }).click()
  const { from, to } = lastDays(30)
  const chart = page.locator('#gupshup-result canvas').first()
  await chart.waitFor()
  t.match(await chart.getAttribute('aria-label'), `30 days from ${from} to ${to}`, 'the chart says it has 30 points')
  const days = await tableRows(page, '#gupshup-result')
  t.equal(days.length, 30, 'a row per day')
  t.same(days.map((row) => row[0]), Array.from({ length: 30 }, (_, index) => new Date(Date.parse(from) + index * 86_400_000).toISOString().slice(0, 10)))
  await screenshot(page, '02-gupshup-30-days')

  await page.getByLabel('Granularity').selectOption({ label: 'Weeks' })
  await page.locator('#gupshup').getByRole('button', { name: 'Show' }).click()
  await page.locator('#gupshup-result h3', { hasText: 'weeks' }).waitFor()
  const weeks = await tableRows(page, '#gupshup-result')
  const mondays = new Set(Array.from({ length: 30 }, (_, index) => {
    const day = new Date(Date.parse(from) + index * 86_400_000)
    return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10)
  }))
  t.equal(weeks.length, mondays.size, 'a row per ISO week the range touches')
  t.match(await chart.getAttribute('aria-label'), `${mondays.size} weeks from ${from} to ${to}`)
  for (const [index, [period]] of weeks.entries()) {
    const [start, end = start] = period.split(' – ')
    t.ok(index === 0 ? start === from : new Date(start).getUTCDay() === 1, `${period} starts on a Monday (or the range's first day)`)
    t.ok(index === weeks.length - 1 ? end === to : new Date(end).getUTCDay() === 0, `${period} ends on a Sunday (or the range's last day)`)
  }
  await screenshot(page, '03-gupshup-weeks')
  t.same(consoleErrors, [])
})

t.test('the CSV link downloads text/csv with the rows shown', { skip: noBrowser }, async (t) => {
  const gw = await listening(t)
  const { page } = await open(t, gw.base)
  await chooseApp(page, 'gupshup', GUPSHUP_APP)
  await page.getByLabel('Range').selectOption({ label: 'Last 7 days' })
  const csvAnswer = page.waitForResponse((response) => response.request().headers().accept === 'text/csv')
  await page.locator('#gupshup').getByRole('button', { name: 'Show' }).click()
  const answer = await csvAnswer
  t.equal(answer.status(), 200)
  t.match(answer.headers()['content-type'], /^text\/csv/)
  const link = page.getByRole('link', { name: 'Download this table as CSV' })
  await link.waitFor()
  t.equal(await link.getAttribute('type'), 'text/csv')
  const downloading = page.waitForEvent('download')
  await link.click()
  const download = await downloading
  t.match(download.suggestedFilename(), /^gupshup-.*\.csv$/)
  const lines = readFileSync(await download.path(), 'utf8').trim().split('\r\n').map((line) => line.split(','))
  const [header, ...rows] = lines
  const column = (name: string): number => header.indexOf(name)
  const shown = await tableRows(page, '#gupshup-result')
  t.ok(shown.length > 0, 'the range has traffic')
  t.same(rows.map((row) => [row[column('start')], row[column('messagesIncoming')], row[column('messagesOutgoing')]]),
    shown.map(([day, incoming, outgoing]) => [day.split(' – ')[0], incoming.replace(/,/g, ''), outgoing.replace(/,/g, '')]),
    'one CSV row per table row, with the same numbers')
  await screenshot(page, '04-gupshup-csv')
})

t.test('a wrong key shows the 401 message; the right one opens the reports and stays in this tab only', { skip: noBrowser }, async (t) => {
  const gw = await listening(t, { GATEWAY_API_KEYS: API_KEY })
  const { page } = await open(t, gw.base)
  const key = page.getByLabel('API key')
  await key.waitFor()
  await page.locator('#status [role=alert]').waitFor()
  t.match(await page.locator('#status').textContent(), /needs a valid API key/)
  await key.fill('not-the-right-key-at-all')
  await page.getByRole('button', { name: 'Use this key' }).click()
  await page.locator('#status [role=alert]', { hasText: 'The API key is not valid for this gateway.' }).waitFor()
  t.match(await page.locator('#status [role=alert]').textContent(), /The gateway needs a valid API key\.The API key is not valid for this gateway\./)
  t.ok(await page.locator('#gupshup').isHidden(), 'no report without a valid key')
  await screenshot(page, '05-wrong-key-401')

  await key.fill(API_KEY)
  await page.getByRole('button', { name: 'Use this key' }).click()
  await page.locator('#gupshup').waitFor()
  t.equal(await page.evaluate('sessionStorage.getItem("usage-gateway.explorer.apiKey")'), API_KEY, 'kept in sessionStorage')
  t.equal(await page.evaluate('localStorage.length'), 0, 'and nowhere else')
  t.equal(await page.evaluate('document.cookie'), '')
  await chooseApp(page, 'gupshup', GUPSHUP_APP)
  await page.locator('#gupshup').getByRole('button', { name: 'Show' }).click()
  await page.locator('#gupshup-result table').waitFor()
  await screenshot(page, '06-right-key')
})

t.test('where numbers came from (fetched now, then from cache), and a spent budget said with when to retry', { skip: noBrowser }, async (t) => {
  const gw = await listening(t, { GUPSHUP_RATE_LIMIT_PER_MINUTE: '1' })
  const { page } = await open(t, gw.base)
  await chooseApp(page, 'gupshup', GUPSHUP_APP)
  await page.getByLabel('Range').selectOption({ label: 'Last 7 days' })
  const show = page.locator('#gupshup').getByRole('button', { name: 'Show' })
  await show.click()
  await page.locator('#gupshup-result .provenance').waitFor()
  t.equal(await page.locator('#gupshup-result .provenance').textContent(), 'Fetched now.')
  await show.click()
  await page.locator('#gupshup-result .provenance', { hasText: 'From cache' }).waitFor()
  t.match(await page.locator('#gupshup-result .provenance').textContent(), /^From cache, (fetched just now|\d+ s old)\.$/)

  // The app's one call a minute is spent: a range not cached yet is refused with Retry-After.
  await page.getByLabel('Range').selectOption({ label: 'Custom' })
  await page.getByLabel('From', { exact: true }).fill('2025-01-01')
  await page.getByLabel('To', { exact: true }).fill('2025-01-31')
  await show.click()
  const problem = page.locator('#gupshup-result .problem')
  await problem.waitFor()
  t.equal(await problem.getAttribute('role'), 'alert')
  t.equal(await problem.getAttribute('data-status'), '429')
  t.match(await problem.textContent(), /budget/, 'the problem\'s detail')
  t.match(await problem.textContent(), /Try again in \d+ s \(after \d\d:\d\d:\d\d\)\./, 'when to retry, from Retry-After')
  await screenshot(page, '11-spent-budget')
})

t.test('a partial answer across apps is marked, with the missing app and when to retry', { skip: noBrowser || waitingFor(!offered.fanOut, 'ISSUE 11 (/usage/gupshup/usage)') }, async (t) => {
  const gw = await listening(t, { GUPSHUP_RATE_LIMIT_PER_MINUTE: '1' })
  const { page } = await open(t, gw.base)
  await page.locator('#gupshup').waitFor()
  // The second app's one call a minute goes on another range first.
  t.equal((await gw.app.inject(`/usage/gupshup/apps/${SECOND_GUPSHUP_APP}?from=2025-01-01&to=2025-01-02`)).statusCode, 200)
  await chooseApp(page, 'gupshup', '*')
  await page.getByLabel('Range').selectOption({ label: 'Last 7 days' })
  await page.locator('#gupshup').getByRole('button', { name: 'Show' }).click()
  const notice = page.locator('#gupshup-result .incomplete')
  await notice.waitFor()
  t.match(await notice.textContent(), /Partial answer: 1 part is missing/)
  // The app by its directory name where the gateway has a directory, else by id.
  const option = page.locator(`#gupshup-app option[value="${SECOND_GUPSHUP_APP}"]`)
  const shown = await option.count() > 0 ? (await option.textContent() ?? '') : SECOND_GUPSHUP_APP
  t.ok((await notice.textContent() ?? '').includes(`${shown}: `), 'the missing app')
  t.match(await notice.textContent(), /(retry after|try again in) \d+ s/i, 'and when to retry')
  t.match(await page.locator('#gupshup-result h3').textContent(), /All apps \(2, 1 missing\)/)
  t.equal(await notice.getAttribute('role'), 'alert')
  const rows = await tableRows(page, '#gupshup-result')
  t.ok(rows.length > 0, 'the app that answered is shown')
  await screenshot(page, '07-partial-answer')
})

t.test('Apple: testers by name with their sessions, crashes and feedback, the last builds, links to the JSON', { skip: noBrowser }, async (t) => {
  const gw = await listening(t)
  const { page, consoleErrors } = await open(t, gw.base)
  await chooseApp(page, 'apple', APPLE_SMALL_APP)
  await page.getByLabel('Period').selectOption({ label: 'Last 30 days' })
  await page.locator('#apple').getByRole('button', { name: 'Show' }).click()
  await page.locator('#apple-testers table').waitFor()
  const testers = await tableRows(page, '#apple-testers')
  t.equal(testers.length, 12, 'the small app has 12 testers')
  t.ok(testers.every((row, index) => index === 0 || Number(row[1]) <= Number(testers[index - 1][1])), 'most sessions first')
  t.equal(await page.locator('#apple-testers canvas').count(), 1)
  t.match(await page.locator('#apple-testers .provenance').textContent(), /^(Fetched now|From cache)/)
  const json = page.locator('#apple-testers').getByRole('link', { name: /JSON/ })
  t.match(await json.getAttribute('href'), /^blob:/)
  if (offered.labels) t.ok(testers.every(([name]) => !name.startsWith('Tester ')), 'testers by name (labels=true)')
  else t.comment('WAITING FOR ISSUE 10 (labels=true): testers are shown by id')
  if (offered.buildUsages) {
    await page.locator('#apple-builds table').waitFor()
    const builds = await tableRows(page, '#apple-builds')
    const directory = (await gw.app.inject(`/usage/apple/apps/${APPLE_SMALL_APP}/builds?limit=10`)).json() as { items: Array<{ name: string }> }
    t.ok(builds.length > 0 && builds.length <= 10, 'the last builds')
    t.same(builds.map(([name]) => name), directory.items.map((build) => build.name), 'by name, newest first, as the builds directory lists them')
    t.ok(builds.every((row) => row.slice(1).every((cell) => /^[\d,]+$/.test(cell))), 'installs, sessions and crashes of each')
  } else {
    t.match(await page.locator('#apple-builds').textContent(), /does not offer build usages/)
    t.comment('WAITING FOR ISSUE 11 (build-usages): the page says the route is absent')
    process.stderr.write('\n*** usage explorer: the last builds are NOT TESTED, WAITING FOR /usage/apple/apps/{appId}/build-usages (issue 11) on main ***\n\n')
  }
  await screenshot(page, '08-apple')
  t.same(consoleErrors, [])
})

t.test('at 375 px wide nothing scrolls sideways but the tables, and every control is labelled and works from the keyboard', { skip: noBrowser }, async (t) => {
  const gw = await listening(t)
  const { page } = await open(t, gw.base, '/explorer/', { width: 375, height: 800 })
  await page.locator('#gupshup').waitFor()
  const unlabelled = await page.locator('input:visible, select:visible').evaluateAll((controls) =>
    controls.filter((control) => (control as unknown as { labels: { length: number } | null }).labels?.length === 0).map((control) => control.id))
  t.same(unlabelled, [], 'every visible control has a label')
  // Keyboard only: focus the app field, choose with the keys, Tab to Show, Enter.
  const appField = page.locator('#gupshup').getByLabel('App', { exact: true })
  await appField.focus()
  if (await appField.evaluate((element) => element.tagName) === 'SELECT') await page.keyboard.press('End')
  else await page.keyboard.type(GUPSHUP_APP)
  const show = page.locator('#gupshup').getByRole('button', { name: 'Show' })
  for (let presses = 0; presses < 6 && !await show.evaluate((button) => button.ownerDocument.activeElement === button); presses++) await page.keyboard.press('Tab')
  await page.keyboard.press('Enter')
  await page.locator('#gupshup-result table').waitFor()
  t.match(await page.locator('#gupshup-result canvas').first().getAttribute('role'), 'img')
  t.ok(((await page.locator('#gupshup-result canvas').first().getAttribute('aria-label')) ?? '').length > 20, 'the chart is described for screen readers')
  const width = await page.evaluate('document.documentElement.scrollWidth') as number
  t.ok(width <= 375, `the page is ${width} px wide`)
  await screenshot(page, '09-375px')
})

t.test('under ROUTE_PREFIX, with PUBLIC_BASE_URL elsewhere, the page calls the gateway under the prefix', { skip: noBrowser }, async (t) => {
  const gw = await listening(t, { ROUTE_PREFIX: '/usage-gateway', PUBLIC_BASE_URL: 'https://gateway.example.com/usage-gateway' })
  const { page, requests, failedRequests, consoleErrors, base } = await open(t, gw.base, '/usage-gateway/explorer')
  t.equal(page.url(), `${base}/usage-gateway/explorer/`, 'redirected to the folder')
  await chooseApp(page, 'gupshup', GUPSHUP_APP)
  await page.locator('#gupshup').getByRole('button', { name: 'Show' }).click()
  await page.locator('#gupshup-result table').waitFor()
  t.ok(requests.some((url) => url.startsWith(`${base}/usage-gateway/usage/gupshup/apps/${GUPSHUP_APP}?`)))
  t.same(requests.filter((url) => !url.startsWith(`${base}/usage-gateway/`) && !url.startsWith('blob:') && !url.startsWith('data:')), [])
  t.same(failedRequests, [])
  t.same(consoleErrors, [])
  await screenshot(page, '10-route-prefix')
})
