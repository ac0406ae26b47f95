/**
 * DOM pieces the panels share: elements built without innerHTML (names come
 * from upstreams), where a number came from, problems said plainly, tables,
 * totals, and download links of exactly what is shown.
 */
import { Problem, type Answer, type IncompletePart } from './api.js'

type Child = Node | string | null | undefined | false

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child)
  return element
}

export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`#${id} is missing from the page`)
  return element as T
}

/** "45 s", "3 min", "2 h", "3 days". */
export function duration (seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} h`
  return `${Math.round(seconds / 86400)} days`
}

/** Where the numbers came from, from X-Cache and Age. */
export function provenance (answer: Pick<Answer<unknown>, 'cache' | 'ageSeconds'>): string {
  const age = answer.ageSeconds
  switch (answer.cache) {
    case 'HIT': return age < 1 ? 'From cache, fetched just now.' : `From cache, ${duration(age)} old.`
    case 'STALE': return `From cache, ${duration(age)} old: a stale copy (the upstream is being asked again, or failed).`
    case 'MISS': return age < 1 ? 'Fetched now.' : `Fetched now, with days from cache up to ${duration(age)} old.`
    default: return 'Fetched now.'
  }
}

const number = new Intl.NumberFormat('en')

export function formatNumber (value: number | undefined): string {
  return value === undefined ? '–' : number.format(value)
}

export function formatMoney (value: number | undefined, currency: string | undefined): string {
  if (value === undefined) return '–'
  if (currency === undefined || !/^[A-Z]{3}$/.test(currency) || currency === 'XXX') return number.format(value)
  return new Intl.NumberFormat('en', { style: 'currency', currency, maximumFractionDigits: 4 }).format(value)
}

/** A problem as a person reads it: what went wrong and, for a spent budget, when to try again. */
export function problemMessage (error: unknown): HTMLElement {
  const problem = error instanceof Problem ? error : new Problem(0, 'page_error', 'Something went wrong', String(error), null)
  const retry = problem.retryAfter === null
    ? null
    : h('p', {}, `Try again in ${duration(problem.retryAfter)} (after ${new Date(Date.now() + problem.retryAfter * 1000).toLocaleTimeString('en-GB')}).`)
  const heading = problem.status === 401
    ? 'The gateway needs a valid API key.'
    : problem.status === 0 ? problem.title : `${problem.title} (${problem.status})`
  return h('div', { class: 'problem', role: 'alert', 'data-status': String(problem.status), 'data-code': problem.code },
    h('p', {}, h('strong', {}, heading)),
    h('p', {}, problem.detail),
    retry)
}

/** A partial answer, said plainly: which parts are missing and why. */
export function incompleteNotice (parts: IncompletePart[], nameOf: (id: string) => string): HTMLElement {
  return h('div', { class: 'notice incomplete', role: 'alert' },
    h('p', {}, h('strong', {}, `Partial answer: ${parts.length} ${parts.length === 1 ? 'part is' : 'parts are'} missing.`),
      ' The numbers below leave them out.'),
    h('ul', {}, ...parts.map((part) => h('li', {},
      `${nameOf(part.subject.id)}: ${part.detail}`,
      // The detail of a spent budget often says when already.
      part.retryAfter === null || /retry/i.test(part.detail) ? '' : ` Try again in ${duration(part.retryAfter)}.`))))
}

export interface Column<R> {
  heading: string
  cell: (row: R) => string
  numeric?: boolean
}

/** A table in a focusable, scrollable region: the charts' numbers for keyboard and screen-reader users. */
export function table<R> (caption: string, columns: Array<Column<R>>, rows: R[], footer?: string[]): HTMLElement {
  const cell = (tag: 'td' | 'th', text: string, numeric: boolean | undefined, scope?: string): HTMLElement =>
    h(tag, { ...(numeric === true ? { class: 'num' } : {}), ...(scope === undefined ? {} : { scope }) }, text)
  const element = h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...columns.map((column) => cell('th', column.heading, column.numeric, 'col')))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...columns.map((column, index) =>
      index === 0 ? cell('th', column.cell(row), column.numeric, 'row') : cell('td', column.cell(row), column.numeric))))),
    footer === undefined ? null : h('tfoot', {}, h('tr', {}, ...footer.map((text, index) => cell(index === 0 ? 'th' : 'td', text, columns[index]?.numeric, index === 0 ? 'row' : undefined)))))
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' }, element)
}

/** A link that saves `text` (as fetched) under `filename`; `url` is the gateway request it answers, shown for copying. */
export function downloadLink (label: string, text: string, type: string, filename: string): HTMLAnchorElement {
  const href = URL.createObjectURL(new Blob([text], { type }))
  return h('a', { href, download: filename, class: 'download', type }, label)
}

/** A link that opens the report's JSON as fetched, in a new tab. */
export function jsonLink (label: string, answerText: string): HTMLAnchorElement {
  let pretty = answerText
  try { pretty = JSON.stringify(JSON.parse(answerText), null, 2) } catch { /* kept as sent */ }
  const href = URL.createObjectURL(new Blob([pretty], { type: 'application/json' }))
  return h('a', { href, target: '_blank', rel: 'noopener', class: 'json' }, label)
}

/** The request a result answers, for copying into curl or a script. */
export function requestLine (url: string): HTMLElement {
  return h('p', { class: 'request' }, 'Request: ', h('code', {}, decodeURI(new URL(url).pathname + new URL(url).search)))
}

/** A canvas for a chart, labelled for screen readers (the table below carries the numbers). */
export function chartFigure (caption: string, description: string): { figure: HTMLElement, canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { role: 'img', 'aria-label': description })
  const figure = h('figure', { class: 'chart' }, h('figcaption', {}, caption), h('div', { class: 'canvas-box' }, canvas))
  return { figure, canvas }
}

/** Replaces an element's children, leaving out the absent ones. */
export function fill (element: HTMLElement, ...children: Child[]): void {
  element.replaceChildren(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false))
}

/** Runs work started by an event; anything it did not handle itself is said in the page's status line. */
export function inBackground (work: Promise<unknown>): void {
  work.catch((error: unknown) => { fill(byId('status'), problemMessage(error)) })
}
