/**
 * Gupshup: one app or all apps (the fan-out route), a range and a
 * granularity; messages (incoming and outgoing) and fees over time, stacked
 * by app when several, the same numbers as a table, the totals, and the
 * CSV of exactly that request.
 */
import { enumOf, hasParameter, Problem, type CatalogRoute, type Directory, type Gateway, type Offer, type Point, type Report } from './api.js'
import { barChart, colour, type Series } from './charts.js'
import { rangeOf, today } from './dates.js'
import {
  byId, chartFigure, downloadLink, fill, formatMoney, formatNumber, h, inBackground, incompleteNotice, jsonLink, problemMessage,
  provenance, requestLine, table
} from './view.js'

const ALL_APPS = '*'
const UNITS: Record<string, [string, string]> = { day: ['day', 'days'], week: ['week', 'weeks'], month: ['month', 'months'] }

/** The app picker: the directory's apps (and "All apps" with the fan-out), else a text field for an app id. */
async function appField (gateway: Gateway, offer: Offer, fanOut: boolean): Promise<Map<string, string>> {
  const field = byId('gupshup-app-field')
  const names = new Map<string, string>()
  const directory = offer.route('gupshup', '/usage/gupshup/apps')
  let note: HTMLElement | null = null
  if (directory !== undefined) {
    try {
      const { body } = await gateway.get<Directory>(gateway.url(directory.route))
      for (const item of body.items) names.set(item.id, item.name ?? item.id)
    } catch (error) {
      note = h('p', { class: 'hint' }, `The app list could not be read (${error instanceof Problem ? error.detail : String(error)}); type an app id.`)
    }
  }
  if (names.size === 0) {
    fill(field,
      h('label', { for: 'gupshup-app' }, 'App'),
      h('input', {
        id: 'gupshup-app',
        name: 'app',
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': 'gupshup-app-hint',
        ...(fanOut ? { placeholder: 'All apps' } : { required: '', placeholder: 'Gupshup app id' })
      }),
      h('p', { id: 'gupshup-app-hint', class: 'hint' }, `This gateway lists no apps: type a Gupshup app id${fanOut ? ', or leave it empty for all apps' : ''}.`),
      note)
    return names
  }
  const options = [...names].map(([id, name]) => h('option', { value: id }, name))
  fill(field,
    h('label', { for: 'gupshup-app' }, 'App'),
    h('select', { id: 'gupshup-app', name: 'app' }, fanOut ? h('option', { value: ALL_APPS }, 'All apps') : null, ...options))
  return names
}

export async function showGupshup (gateway: Gateway, offer: Offer): Promise<void> {
  const single = offer.route('gupshup', '/usage/gupshup/apps/{appId}')
  const section = byId('gupshup')
  section.hidden = single === undefined
  if (single === undefined) return
  const fanOut = offer.route('gupshup', '/usage/gupshup/usage')
  const granularities = hasParameter(single, 'granularity') ? (enumOf(single, 'granularity').length > 0 ? enumOf(single, 'granularity') : ['day', 'week', 'month']) : []
  const granularity = byId<HTMLSelectElement>('gupshup-granularity')
  byId('gupshup-granularity-field').hidden = granularities.length === 0
  for (const option of granularity.options) option.hidden = !granularities.includes(option.value)

  const range = byId<HTMLSelectElement>('gupshup-range')
  const from = byId<HTMLInputElement>('gupshup-from')
  const to = byId<HTMLInputElement>('gupshup-to')
  const custom = rangeOf('30')
  from.value = custom.from
  to.value = custom.to
  from.max = to.max = today()
  range.onchange = () => { byId('gupshup-custom').hidden = range.value !== 'custom' }

  const names = await appField(gateway, offer, fanOut !== undefined)
  const result = byId('gupshup-result')
  byId<HTMLFormElement>('gupshup-form').onsubmit = (event) => {
    event.preventDefault()
    const chosen = byId<HTMLInputElement | HTMLSelectElement>('gupshup-app').value.trim()
    // An empty app field means all apps (it is required where the gateway cannot answer that).
    const appId = chosen === '' ? ALL_APPS : chosen
    const days = range.value === 'custom' ? { from: from.value, to: to.value } : rangeOf(range.value)
    const query = { ...days, granularity: granularities.length === 0 ? undefined : granularity.value }
    // Names beside ids where the route can give them (the apps' names from the usage rows).
    const named = (route: CatalogRoute): Record<string, string | undefined> => ({ ...query, labels: hasParameter(route, 'labels') ? 'true' : undefined })
    const url = appId === ALL_APPS && fanOut !== undefined
      ? gateway.url(fanOut.route, named(fanOut))
      : gateway.url(single.route.replace('{appId}', encodeURIComponent(appId)), named(single))
    inBackground(load(gateway, result, url, { names, unit: granularities.length === 0 ? 'day' : granularity.value }))
  }
}

async function load (gateway: Gateway, result: HTMLElement, url: string, context: { names: Map<string, string>, unit: string }): Promise<void> {
  result.setAttribute('aria-busy', 'true')
  fill(result, h('p', { role: 'status' }, 'Loading…'))
  try {
    const answer = await gateway.get<Report>(url)
    // The CSV of the same request (a cache hit by now), so the download is what the page shows.
    let csv: string | Problem
    try {
      csv = (await gateway.get<string>(url, 'text/csv')).text
    } catch (error) {
      csv = error instanceof Problem ? error : new Problem(0, 'page_error', 'No CSV', String(error), null)
    }
    render(result, answer.body, { ...context, provenance: provenance(answer), url, json: answer.text, csv })
  } catch (error) {
    if (error instanceof Problem && error.status === 401) document.dispatchEvent(new CustomEvent('explorer:unauthorized'))
    fill(result, problemMessage(error))
  } finally {
    result.removeAttribute('aria-busy')
  }
}

interface Rendered { names: Map<string, string>, unit: string, provenance: string, url: string, json: string, csv: string | Problem }

function render (result: HTMLElement, report: Report, context: Rendered): void {
  const appOf = (point: Point): string => point.dimensions.app ?? report.subject.id
  const nameOf = (id: string): string => report.labels?.app?.[id]?.name ?? context.names.get(id) ?? id
  const apps = [...new Set(report.data.map(appOf))]
  const buckets = [...new Set(report.data.map((point) => point.start))].sort()
  const byBucket = new Map(report.data.map((point) => [`${appOf(point)} ${point.start}`, point]))
  const valuesOf = (app: string, metric: string): number[] => buckets.map((start) => byBucket.get(`${app} ${start}`)?.metrics[metric] ?? 0)
  const currency = report.units.feesTotal
  const several = apps.length > 1 || report.subject.type === 'provider'
  const [one, many] = UNITS[context.unit] ?? UNITS.day
  const span = buckets.length === 0
    ? 'no data'
    : `${buckets.length} ${buckets.length === 1 ? one : many} from ${buckets[0]} to ${report.data.reduce((last, point) => point.end > last ? point.end : last, '')}`
  const byApp = several ? `, stacked by app (${apps.length} ${apps.length === 1 ? 'app' : 'apps'})` : ''

  const messages = chartFigure('Messages, incoming and outgoing', `Bar chart of messages, incoming and outgoing: ${span}${byApp}. The table below has the numbers.`)
  const fees = chartFigure(`Fees${currency === undefined || currency === 'XXX' ? '' : ` (${currency})`}`, `Bar chart of fees: ${span}${byApp}. The table below has the numbers.`)
  const columns = [
    { heading: context.unit === 'day' ? 'Day' : 'Period', cell: (point: Point) => point.start === point.end ? point.start : `${point.start} – ${point.end}` },
    ...(several ? [{ heading: 'App', cell: (point: Point) => nameOf(appOf(point)) }] : []),
    { heading: 'Incoming', numeric: true, cell: (point: Point) => formatNumber(point.metrics.messagesIncoming) },
    { heading: 'Outgoing', numeric: true, cell: (point: Point) => formatNumber(point.metrics.messagesOutgoing) },
    { heading: `Fees${currency === undefined || currency === 'XXX' ? '' : ` (${currency})`}`, numeric: true, cell: (point: Point) => formatMoney(point.metrics.feesTotal, currency) }
  ]
  const totals = report.totals
  const footer = ['Total', ...(several ? [''] : []), formatNumber(totals.messagesIncoming ?? 0), formatNumber(totals.messagesOutgoing ?? 0), formatMoney(totals.feesTotal ?? 0, currency)]
  const missing = report.incomplete?.length ?? 0
  const title = several ? `All apps (${apps.length + missing}${missing > 0 ? `, ${missing} missing` : ''})` : nameOf(report.subject.id)
  const filename = `gupshup-${several ? 'apps' : report.subject.id}-${buckets[0] ?? 'empty'}.csv`

  fill(result,
    h('h3', {}, `${title}: ${span}`),
    h('p', { role: 'status', class: 'visually-hidden' }, `Showing ${title}: ${span}.`),
    h('p', { class: 'provenance' }, context.provenance),
    report.incomplete === undefined || report.incomplete.length === 0 ? null : incompleteNotice(report.incomplete, nameOf),
    h('dl', { class: 'totals' },
      h('div', {}, h('dt', {}, 'Messages in'), h('dd', {}, formatNumber(totals.messagesIncoming ?? 0))),
      h('div', {}, h('dt', {}, 'Messages out'), h('dd', {}, formatNumber(totals.messagesOutgoing ?? 0))),
      h('div', {}, h('dt', {}, 'Fees'), h('dd', {}, formatMoney(totals.feesTotal ?? 0, currency)))),
    buckets.length === 0 ? h('p', {}, 'No traffic in this range.') : null,
    messages.figure,
    fees.figure,
    table(`${title}: messages and fees by ${one}`, columns, report.data, footer),
    h('p', { class: 'links' },
      typeof context.csv === 'string'
        ? downloadLink('Download this table as CSV', context.csv, 'text/csv', filename)
        : h('span', {}, `The CSV could not be fetched: ${context.csv.detail}`),
      ' ',
      jsonLink('Open the JSON answer', context.json)),
    requestLine(context.url))

  barChart(messages.canvas, buckets, apps.flatMap((app, index): Series[] => several
    ? [
        { label: `${nameOf(app)}: incoming`, values: valuesOf(app, 'messagesIncoming'), stack: 'incoming', colour: colour(index) },
        { label: `${nameOf(app)}: outgoing`, values: valuesOf(app, 'messagesOutgoing'), stack: 'outgoing', colour: colour(index) + 'aa' }
      ]
    : [
        { label: 'Incoming', values: valuesOf(app, 'messagesIncoming'), stack: 'messages', colour: colour(0) },
        { label: 'Outgoing', values: valuesOf(app, 'messagesOutgoing'), stack: 'messages', colour: colour(1) }
      ]), { stacked: true })
  barChart(fees.canvas, buckets, apps.map((app, index) => ({ label: nameOf(app), values: valuesOf(app, 'feesTotal'), stack: 'fees', colour: colour(index) })), { stacked: true })
}
