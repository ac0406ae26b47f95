/**
 * Apple: an app (named from the directory), a period; its testers'
 * sessions, crashes and feedback as bars with their names (labels=true), and
 * its last builds' installs, sessions and crashes (build-usages), each with
 * a link to the report's JSON.
 */
import { enumOf, hasParameter, Problem, type CatalogRoute, type Directory, type Gateway, type Offer, type Point, type Report } from './api.js'
import { barChart, colour } from './charts.js'
import { byId, chartFigure, fill, formatNumber, h, inBackground, incompleteNotice, jsonLink, problemMessage, provenance, requestLine, table } from './view.js'

const PERIODS: Record<string, string> = { P7D: 'Last 7 days', P30D: 'Last 30 days', P90D: 'Last 90 days', P365D: 'Last 365 days' }
/** Bars a person can still read; the table has every tester of the page. */
const CHARTED_TESTERS = 20
const LAST_BUILDS = 10
/** One colour per metric on every chart of the panel. */
const METRIC_COLOURS: Record<string, string> = { sessions: colour(0), crashes: colour(1), feedback: colour(2), installs: colour(4) }

async function appField (gateway: Gateway, offer: Offer): Promise<void> {
  const field = byId('apple-app-field')
  const directory = offer.route('apple', '/usage/apple/apps')
  const items: Array<{ id: string, name: string }> = []
  let note: HTMLElement | null = null
  if (directory !== undefined) {
    try {
      const { body } = await gateway.get<Directory>(gateway.url(directory.route))
      for (const item of body.items) items.push({ id: item.id, name: item.name ?? item.id })
    } catch (error) {
      note = h('p', { class: 'hint' }, `The app list could not be read (${error instanceof Problem ? error.detail : String(error)}); type an app id.`)
    }
  }
  if (items.length === 0) {
    fill(field,
      h('label', { for: 'apple-app' }, 'App'),
      h('input', { id: 'apple-app', name: 'app', required: '', autocomplete: 'off', spellcheck: 'false', inputmode: 'numeric', placeholder: 'App Store Connect app id', 'aria-describedby': 'apple-app-hint' }),
      h('p', { id: 'apple-app-hint', class: 'hint' }, 'This gateway lists no apps: type an App Store Connect app id.'),
      note)
    return
  }
  fill(field,
    h('label', { for: 'apple-app' }, 'App'),
    h('select', { id: 'apple-app', name: 'app' }, ...items.map((item) => h('option', { value: item.id }, `${item.name}`))))
}

export async function showApple (gateway: Gateway, offer: Offer): Promise<void> {
  const testers = offer.route('apple', '/usage/apple/apps/{appId}/beta-testers')
  const section = byId('apple')
  section.hidden = testers === undefined
  if (testers === undefined) return
  const builds = offer.route('apple', '/usage/apple/apps/{appId}/build-usages')
  const period = byId<HTMLSelectElement>('apple-period')
  const periods = enumOf(testers, 'period')
  fill(period, ...(periods.length > 0 ? periods : Object.keys(PERIODS)).map((value) =>
    h('option', { value, ...(value === 'P30D' ? { selected: '' } : {}) }, PERIODS[value] ?? value)))
  await appField(gateway, offer)
  byId<HTMLFormElement>('apple-form').onsubmit = (event) => {
    event.preventDefault()
    const appId = encodeURIComponent(byId<HTMLInputElement | HTMLSelectElement>('apple-app').value.trim())
    inBackground(Promise.all([
      loadTesters(gateway, testers, appId, period.value),
      loadBuilds(gateway, builds, appId, period.value)
    ]))
  }
}

/** `labels=true` where the route takes it (names beside ids). */
function query (route: CatalogRoute, values: Record<string, string>): Record<string, string | undefined> {
  return Object.fromEntries([...Object.entries(values), ['labels', 'true']].filter(([name]) => hasParameter(route, name)))
}

async function fetched (gateway: Gateway, result: HTMLElement, url: string, render: (report: Report, meta: { provenance: string, json: string }) => void): Promise<void> {
  result.setAttribute('aria-busy', 'true')
  fill(result, h('p', { role: 'status' }, 'Loading…'))
  try {
    const answer = await gateway.get<Report>(url)
    render(answer.body, { provenance: provenance(answer), json: answer.text })
    result.append(requestLine(url))
  } catch (error) {
    if (error instanceof Problem && error.status === 401) document.dispatchEvent(new CustomEvent('explorer:unauthorized'))
    fill(result, problemMessage(error))
  } finally {
    result.removeAttribute('aria-busy')
  }
}

function labelOf (report: Report, type: string, id: string, fallback: string): string {
  const label = report.labels?.[type]?.[id]
  if (label === undefined) return fallback
  // Apple names no public-link tester.
  return label.name ?? `Anonymous (${id.slice(0, 8)})`
}

function namesNotice (report: Report): HTMLElement | null {
  return report.labelsIncomplete === true
    ? h('div', { class: 'notice incomplete', role: 'alert' }, h('p', {}, h('strong', {}, 'Some names could not be looked up'), ': their ids are shown instead. The numbers are complete.'))
    : null
}

async function loadTesters (gateway: Gateway, route: CatalogRoute, appId: string, period: string): Promise<void> {
  const result = byId('apple-testers')
  const url = gateway.url(route.route.replace('{appId}', appId), query(route, { period, limit: '200' }))
  await fetched(gateway, result, url, (report, meta) => {
    const testerOf = (point: Point): string => point.dimensions.betaTester ?? ''
    const nameOf = (point: Point): string => labelOf(report, 'betaTester', testerOf(point), `Tester ${testerOf(point).slice(0, 8)}`)
    const ranked = [...report.data].sort((a, b) => (b.metrics.sessions ?? 0) - (a.metrics.sessions ?? 0))
    const charted = ranked.slice(0, CHARTED_TESTERS)
    const total = report.paging.total ?? report.data.length
    const shown = total > report.data.length ? `${report.data.length} of ${total} testers (the first page)` : `${report.data.length} testers`
    const chart = chartFigure(`Testers by sessions (the ${charted.length} with most)`,
      `Horizontal bar chart of sessions, crashes and feedback for the ${charted.length} testers with most sessions. The table below has every tester shown.`)
    chart.figure.classList.add('tall')
    const metric = (name: string) => (point: Point): string => formatNumber(point.metrics[name])
    fill(result,
      h('h3', {}, `Testers: ${shown}, ${PERIODS[period]?.toLowerCase() ?? period}`),
      h('p', { role: 'status', class: 'visually-hidden' }, `Showing testers: ${shown}.`),
      h('p', { class: 'provenance' }, meta.provenance),
      namesNotice(report),
      report.data.length === 0 ? h('p', {}, 'No tester activity in this period.') : chart.figure,
      table(`Testers' sessions, crashes and feedback (${shown})`, [
        { heading: 'Tester', cell: nameOf },
        { heading: 'Sessions', numeric: true, cell: metric('sessions') },
        { heading: 'Crashes', numeric: true, cell: metric('crashes') },
        { heading: 'Feedback', numeric: true, cell: metric('feedback') }
      ], ranked, ['Total', formatNumber(report.totals.sessions ?? 0), formatNumber(report.totals.crashes ?? 0), formatNumber(report.totals.feedback ?? 0)]),
      h('p', { class: 'links' }, jsonLink('Open the testers report’s JSON', meta.json)))
    if (report.data.length > 0) {
      barChart(chart.canvas, charted.map(nameOf), ['sessions', 'crashes', 'feedback'].map((name) => ({
        label: name[0].toUpperCase() + name.slice(1), values: charted.map((point) => point.metrics[name] ?? 0), colour: METRIC_COLOURS[name]
      })), { horizontal: true })
    }
  })
}

async function loadBuilds (gateway: Gateway, route: CatalogRoute | undefined, appId: string, period: string): Promise<void> {
  const result = byId('apple-builds')
  if (route === undefined) {
    fill(result, h('p', { class: 'hint' }, 'This gateway does not offer build usages (/usage/apple/apps/{appId}/build-usages): the last builds are not shown.'))
    return
  }
  const url = gateway.url(route.route.replace('{appId}', appId), query(route, { last: String(LAST_BUILDS), period }))
  await fetched(gateway, result, url, (report, meta) => {
    const buildOf = (point: Point): string => point.dimensions.build ?? ''
    const nameOf = (point: Point): string => labelOf(report, 'build', buildOf(point), `Build ${buildOf(point).slice(0, 8)}`)
    const count = report.data.length === 1 ? 'build' : `${report.data.length} builds`
    const chart = chartFigure(`The last ${count}`,
      `Bar chart of installs, sessions and crashes for the app's last ${count}, newest first. The table below has the numbers.`)
    const metric = (name: string) => (point: Point): string => formatNumber(point.metrics[name])
    fill(result,
      h('h3', {}, `Builds: the last ${count}, newest first`),
      h('p', { role: 'status', class: 'visually-hidden' }, `Showing the last ${count}.`),
      h('p', { class: 'provenance' }, meta.provenance),
      namesNotice(report),
      report.incomplete === undefined || report.incomplete.length === 0 ? null : incompleteNotice(report.incomplete, (id) => `Build ${id}`),
      report.data.length === 0 ? h('p', {}, 'No builds.') : chart.figure,
      table('Installs, sessions and crashes per build', [
        { heading: 'Build', cell: nameOf },
        { heading: 'Installs', numeric: true, cell: metric('installs') },
        { heading: 'Sessions', numeric: true, cell: metric('sessions') },
        { heading: 'Crashes', numeric: true, cell: metric('crashes') }
      ], report.data),
      h('p', { class: 'links' }, jsonLink('Open the build usages report’s JSON', meta.json)))
    if (report.data.length > 0) {
      barChart(chart.canvas, report.data.map(nameOf), ['installs', 'sessions', 'crashes'].map((name) => ({
        label: name[0].toUpperCase() + name.slice(1), values: report.data.map((point) => point.metrics[name] ?? 0), colour: METRIC_COLOURS[name]
      })))
    }
  })
}
