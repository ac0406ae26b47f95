/**
 * The gateway as the page sees it: where its routes are (relative to the
 * page, so ROUTE_PREFIX and a front's own path prefix both hold), the API key
 * (sessionStorage only), and answers read into reports or problems.
 */

export interface PageConfig {
  apiKeyRequired: boolean
  routePrefix: string
}

export interface Point {
  start: string
  end: string
  dimensions: Record<string, string>
  metrics: Record<string, number>
}

export interface IncompletePart {
  subject: { type: string, id: string }
  status: number
  code: string
  detail: string
  retryAfter: number | null
}

export interface Report {
  provider: string
  report: string
  subject: { type: string, id: string }
  units: Record<string, string>
  data: Point[]
  totals: Record<string, number>
  paging: { total: number | null, limit: number | null, next: string | null }
  labels?: Record<string, Record<string, { name?: string | null }>>
  labelsIncomplete?: boolean
  incomplete?: IncompletePart[]
}

export interface DirectoryItem { type: string, id: string, name: string | null }
export interface Directory { items: DirectoryItem[] }

interface CatalogParameter { name: string, in: 'path' | 'query', required: boolean, schema: { enum?: unknown[] } }
export interface CatalogRoute { route: string, parameters: CatalogParameter[] }
interface CatalogProvider {
  name: string
  status: 'configured' | 'simulated' | 'not_configured'
  reports: CatalogRoute[]
  directories?: CatalogRoute[]
}
export interface Catalog { providers: CatalogProvider[] }

const KEY_STORAGE = 'usage-gateway.explorer.apiKey'

export function storedKey (): string | null {
  return sessionStorage.getItem(KEY_STORAGE)
}

export function storeKey (key: string | null): void {
  if (key === null || key === '') sessionStorage.removeItem(KEY_STORAGE)
  else sessionStorage.setItem(KEY_STORAGE, key)
}

/** A problem+json answer (or a failure to get any answer), ready to be said to a person. */
export class Problem extends Error {
  constructor (
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly retryAfter: number | null
  ) {
    super(detail)
  }
}

/** An answer and where it came from. */
export interface Answer<T> {
  body: T
  url: string
  /** `HIT`, `MISS` or `STALE`, or null where the route does not say. */
  cache: string | null
  ageSeconds: number
  /** X-Incomplete: how many parts of a fan-out are missing. */
  incompleteParts: number
}

/** The gateway's root as this page reaches it: the page is at `<root>explorer/`. */
const gatewayRoot = new URL('../', document.baseURI)

export async function loadConfig (): Promise<PageConfig> {
  const response = await fetch(new URL('config.json', document.baseURI))
  if (!response.ok) throw new Problem(response.status, `http_${response.status}`, 'The page could not start', 'The explorer could not read its settings from the gateway.', null)
  return await response.json() as PageConfig
}

export class Gateway {
  constructor (private readonly config: PageConfig) {}

  /** The URL of a gateway path (`/usage/...`, with or without ROUTE_PREFIX), relative to where this page is served. */
  url (path: string, query: Record<string, string | undefined> = {}): string {
    const bare = path.startsWith(this.config.routePrefix + '/') ? path.slice(this.config.routePrefix.length) : path
    const url = new URL('.' + bare, gatewayRoot)
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value)
    return url.href
  }

  async get<T>(url: string, accept = 'application/json'): Promise<Answer<T> & { text: string, contentType: string }> {
    const headers: Record<string, string> = { accept }
    const key = storedKey()
    if (key !== null) headers['x-api-key'] = key
    let response: Response
    try {
      response = await fetch(url, { headers })
    } catch (error) {
      throw new Problem(0, 'unreachable', 'No answer', `The gateway did not answer (${(error as Error).message}).`, null)
    }
    const text = await response.text()
    if (!response.ok) throw problemOf(response, text)
    const contentType = response.headers.get('content-type') ?? ''
    return {
      body: (contentType.includes('json') ? JSON.parse(text) : text) as T,
      text,
      contentType,
      url,
      cache: response.headers.get('x-cache'),
      ageSeconds: Number(response.headers.get('age') ?? 0),
      incompleteParts: Number(response.headers.get('x-incomplete') ?? 0)
    }
  }
}

function problemOf (response: Response, text: string): Problem {
  const retryAfterHeader = response.headers.get('retry-after')
  const retryAfter = retryAfterHeader === null || !/^\d+$/.test(retryAfterHeader) ? null : Number(retryAfterHeader)
  try {
    const body = JSON.parse(text) as { code?: string, title?: string, detail?: string }
    if (typeof body.detail === 'string') {
      return new Problem(response.status, body.code ?? `http_${response.status}`, body.title ?? response.statusText, body.detail, retryAfter)
    }
  } catch {
    // Not problem+json (a proxy's error page): said by its status below.
  }
  return new Problem(response.status, `http_${response.status}`, response.statusText, `The gateway answered ${response.status} ${response.statusText}.`, retryAfter)
}

/** What this deployment offers, found by route template (without ROUTE_PREFIX). */
export class Offer {
  constructor (readonly catalog: Catalog, private readonly routePrefix: string) {}

  provider (name: string): CatalogProvider | undefined {
    return this.catalog.providers.find((provider) => provider.name === name)
  }

  route (provider: string, template: string): CatalogRoute | undefined {
    const found = this.provider(provider)
    if (found === undefined || found.status === 'not_configured') return undefined
    return [...found.reports, ...(found.directories ?? [])].find((entry) => entry.route === this.routePrefix + template)
  }
}

export function hasParameter (route: CatalogRoute | undefined, name: string): boolean {
  return route?.parameters.some((parameter) => parameter.name === name) ?? false
}

export function enumOf (route: CatalogRoute | undefined, name: string): string[] {
  const values = route?.parameters.find((parameter) => parameter.name === name)?.schema.enum ?? []
  return values.filter((value): value is string => typeof value === 'string')
}
