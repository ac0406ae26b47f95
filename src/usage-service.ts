/**
 * Answers a report request: from the cache when it can, else from the
 * provider, normalized and serialized once. Remembers upstream 404s (and
 * reports too large to cache) briefly, keyed by what the upstream refused, so
 * a caller cannot spend the upstream budget on them. Every upstream call is
 * made with the requesting caller's context, which the shares charge.
 */
import { LRUCache } from 'lru-cache'
import type { AccountSet } from './accounts/account-set.js'
import { Owners } from './accounts/owners.js'
import { bucketPoints, type Granularity } from './buckets.js'
import { GatewayError, gatewayError, InvalidParameterError, NotFoundError, ProviderNotConfiguredError, ReportTooLargeError, TooManyPagesError, UpstreamInvalidResponseError } from './errors.js'
import { etagOf, type ReportCache } from './cache/report-cache.js'
import type { CacheAnswer, CachedReport, CacheOutcome } from './cache/types.js'
import type { DayCache } from './cache/day-cache.js'
import { addDays, isoDay } from './days.js'
import type { DirectoryAnswer, DirectoryItem, Label, Labels } from './directory.js'
import type { DirectoryEndpoint, EndpointRow, FanOut, QueryValues, ReportEndpoint } from './endpoint.js'
import { quietObserver, type GatewayObserver } from './observer.js'
import type { Provider, Source } from './provider.js'
import { guessMetric, NO_CURRENCY, totalsOf, type FetchedReport, type IncompletePart, type UsagePoint, type UsageReport } from './report.js'
import { noteAccount, type CallContext } from './upstream-timing.js'

export interface UsageServiceOptions {
  cache: ReportCache
  days: DayCache
  /** Each provider's accounts, each with its source. */
  accounts: AccountSet
  /** The providers served (what a subject that does not exist is answered with). */
  providers?: readonly Provider[]
  /** CACHE_TTL_SECONDS: overrides every report's TTL when set. */
  ttlOverrideSeconds?: number
  /** Most pages one `all=true` request follows. */
  maxPages?: number
  /** PUBLIC_BASE_URL: makes paging.next absolute. */
  publicBaseUrl?: string
  now?: () => number
  /** A background refresh failed (the caller already has its STALE answer). */
  onBackgroundError?: (error: unknown) => void
  /** A forced refresh of an entry younger than this is answered from the cache (CACHE_REFRESH_FLOOR_SECONDS). */
  refreshFloorMs?: number
  /** Counts fan-out parts by outcome. */
  observer?: GatewayObserver
  /** UPSTREAM_TIMEOUT_MS: a fan-out starts no upstream fetch later than this after it began. */
  fanOutWindowMs?: number
  /** Every provider's directory rows (`directory()` finds them by provider and name). */
  directories?: readonly DirectoryEndpoint[]
}

/** How a request asks: whether it forces a refresh, whose calls it makes (and what it may see), which account it names. */
export interface ReportRequest {
  forceRefresh?: boolean
  context: CallContext
  /** `account=`: the provider account the caller named. */
  account?: string
}

/** One subject of a fan-out, with the account that answers for it. */
interface Part { account: string, id: string }

/** How long an upstream 404 (or a report too large to cache) is remembered. */
const NOT_FOUND_TTL_MS = 60_000
/** A day reported empty is re-checked after this while it is recent (an incident may have emptied it). */
export const EMPTY_DAY_TTL_MS = 3_600_000
const RECENT_DAYS = 7
/** Query parameters that page or bound a range: not part of what an upstream 404 refused. */
const NOT_IDENTIFYING = new Set(['cursor', 'all', 'from', 'to', 'year', 'month'])
/** A name, once looked up (or listed by a directory), is kept this long, each id on its own. */
export const LABEL_TTL_MS = 24 * 3_600_000

/** `a=1&b=2` with keys sorted and undefined values left out: one spelling per request. */
export function canonicalQuery (query: QueryValues): string {
  let search = ''
  for (const name of Object.keys(query).sort()) {
    const value = query[name]
    if (value !== undefined) search += `${search === '' ? '' : '&'}${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`
  }
  return search
}

/** The gateway path of a route for one subject and query. */
export function gatewayPath (endpoint: EndpointRow, id: string, query: QueryValues): string {
  const path = endpoint.subject === null ? endpoint.route : endpoint.route.replace(`:${endpoint.subject.param}`, encodeURIComponent(id))
  const search = canonicalQuery(query)
  return search === '' ? path : `${path}?${search}`
}

function serialize ({ nextCursor, ...fetched }: FetchedReport, next: string | null, account: string): string {
  const { provider, report: name, ...rest } = fetched
  const report: UsageReport = { provider, report: name, account, ...rest, paging: { ...fetched.paging, next } }
  return JSON.stringify(report)
}

/** The request's `granularity` (a bucketed row's; `day` when absent), and the query without it (what is cached). */
function splitGranularity (endpoint: ReportEndpoint, query: QueryValues): { granularity?: Granularity, rest: QueryValues } {
  if (endpoint.buckets !== true) return { rest: query }
  const { granularity = 'day', ...rest } = query
  return { granularity: granularity as Granularity, rest }
}

/** `items` through `work`, at most `limit` at once, answers in the items' order. */
async function mapBounded<T, R> (items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** Runs `check`; a problem it throws is named by the fan-out's parameter (`apps`), before any upstream call. */
async function namedBy<T> (parameter: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check()
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error
    const { status, code, title, detail, retryAfterSeconds, provider } = error
    throw new GatewayError({ status, code, title, detail, retryAfterSeconds, provider, parameter })
  }
}

/** The worst of several cache outcomes: HIT only when every part was one. */
function outcomeOf (outcomes: Iterable<CacheOutcome>): CacheOutcome {
  const all = new Set(outcomes)
  return all.has('MISS') ? 'MISS' : all.has('STALE') ? 'STALE' : 'HIT'
}

/** A report's points as one: its totals, from its earliest start to its latest end. */
function onePointOf (report: UsageReport, dimensions: Record<string, string>): UsagePoint {
  const starts = report.data.map((point) => point.start).sort()
  const ends = report.data.map((point) => point.end).sort()
  return { start: starts[0], end: ends[ends.length - 1], dimensions, metrics: report.totals }
}

export class UsageService {
  private readonly cache: ReportCache
  private readonly days: DayCache
  private readonly accounts: AccountSet
  private readonly owners: Owners
  /** provider → the type of its top-level subjects (what its subject-less directory lists: `app`). */
  private readonly topTypes: ReadonlyMap<string, string>
  private readonly ttlOverrideSeconds?: number
  private readonly clock: () => number
  private readonly onBackgroundError: (error: unknown) => void
  private readonly refused: LRUCache<string, GatewayError>
  private readonly notFoundTtlMs: number
  private readonly maxPages: number
  private readonly publicBaseUrl: string
  private readonly refreshFloorMs: number
  private readonly observer: GatewayObserver
  private readonly fanOutWindowMs: number
  /** A cached entry's bucketed forms, by granularity and last day: built once per entry, gone with it. */
  private readonly bucketedOf = new WeakMap<CachedReport, Map<string, CachedReport>>()
  private readonly directories: readonly DirectoryEndpoint[]
  /** provider:kind:id → its label, for LABEL_TTL_MS. */
  private readonly labelCache: LRUCache<string, Label>

  constructor (options: UsageServiceOptions) {
    this.cache = options.cache
    this.days = options.days
    this.accounts = options.accounts
    this.ttlOverrideSeconds = options.ttlOverrideSeconds
    this.clock = options.now ?? Date.now
    this.refreshFloorMs = options.refreshFloorMs ?? 60_000
    this.observer = options.observer ?? quietObserver
    this.fanOutWindowMs = options.fanOutWindowMs ?? 10_000
    this.onBackgroundError = options.onBackgroundError ?? (() => {})
    this.maxPages = options.maxPages ?? 50
    this.publicBaseUrl = options.publicBaseUrl ?? ''
    this.notFoundTtlMs = Math.min(NOT_FOUND_TTL_MS, (options.ttlOverrideSeconds ?? Number.POSITIVE_INFINITY) * 1000)
    this.refused = new LRUCache({ max: 10_000, ttl: Math.max(1, this.notFoundTtlMs), perf: { now: this.clock }, ttlResolution: 0 })
    this.directories = options.directories ?? []
    this.labelCache = new LRUCache({ max: 100_000, ttl: LABEL_TTL_MS, perf: { now: this.clock }, ttlResolution: 0 })
    this.topTypes = new Map(this.directories.flatMap((row) => row.subject === null ? [[row.provider, row.itemType]] : []))
    const providers = new Map((options.providers ?? []).map((provider) => [provider.name, provider]))
    this.owners = new Owners({
      accounts: this.accounts,
      now: this.clock,
      notFound: (provider, type, id) => providers.get(provider)?.notFound?.(type, id) ?? new NotFoundError(`${provider} has no ${type} '${id}'.`, provider),
      topLevel: async (provider, account, context, refresh) => {
        const row = this.directories.find((directory) => directory.provider === provider && directory.subject === null)
        if (row === undefined) return undefined
        return new Set((await this.directory(provider, row.directory, '', {}, context, account, refresh)).map((item) => item.id))
      }
    })
  }

  /** The accounts changed (SIGHUP): owners found so far may no longer hold. */
  accountsChanged (): void {
    this.owners.clear()
  }

  /** The clock the service (and the date window of the routes) runs on. */
  now (): number {
    return this.clock()
  }

  /** What the caches hold and each provider's last quota figures (provider → credential → figure), for metrics. */
  stats (): { reportBytes: number, reportEntries: number, dayBytes: number, dayEntries: number, quotas: Record<string, Record<string, Record<string, number>>> } {
    return {
      reportBytes: this.cache.bytes,
      reportEntries: this.cache.entries,
      dayBytes: this.days.bytes,
      dayEntries: this.days.entries,
      quotas: this.accounts.quotas()
    }
  }

  /** Cache key: the report, the account that answers it (as its credentials are now) and its normalized inputs (never the caller's identity). */
  keyOf (endpoint: EndpointRow, account: string, id: string, query: QueryValues): string {
    return `${endpoint.key}:${this.accounts.cacheName(endpoint.provider, account)}:${id}?${canonicalQuery(query)}`
  }

  /**
   * What an upstream refusal is remembered under: the report, its subject and
   * the query that identifies what was asked (not paging or range bounds), so
   * `?appId=bad` does not make `?appId=good` a 404, nor one report another.
   */
  refusalKeyOf (endpoint: EndpointRow, account: string, id: string, query: QueryValues): string {
    const identifying = Object.fromEntries(Object.entries(query).filter(([name]) => !NOT_IDENTIFYING.has(name)))
    return this.keyOf(endpoint, account, id, identifying)
  }

  /** The report of one subject (or a fan-out's), from the account that answers for it. */
  async report (endpoint: ReportEndpoint, id: string, query: QueryValues, request: ReportRequest): Promise<CacheAnswer> {
    if (endpoint.fanOut !== undefined) return await this.fanOutReport(endpoint, endpoint.fanOut, id, query, request)
    const found = this.accountOf(endpoint, id, query, request)
    // One account the key sees whole (the usual case) is known at once: no promise on the hit path.
    return await this.accountReport(endpoint, typeof found === 'string' ? found : await found, id, query, request)
  }

  /** The account that answers for a row's subject: the one named (checked), or its owner among those the key may use. */
  private accountOf (endpoint: EndpointRow, id: string, query: QueryValues, request: ReportRequest): string | Promise<string> {
    const { provider, subject } = endpoint
    const type = subject?.type ?? ''
    const topType = this.topTypes.get(provider)
    const top = topType === undefined || type === topType ? id : endpoint.ownedVia === undefined ? undefined : String(query[endpoint.ownedVia.query])
    return this.owners.resolve({ provider, type, id, top, account: request.account, grants: request.context.grants, context: request.context })
  }

  /** One subject's report from `account`; a bucketed row's points in the buckets asked for. */
  private async accountReport (endpoint: ReportEndpoint, account: string, id: string, query: QueryValues, request: ReportRequest): Promise<CacheAnswer> {
    noteAccount(request.context, account)
    const { granularity, rest } = splitGranularity(endpoint, query)
    const answer = await this.subjectReport(endpoint, account, id, rest, request, granularity)
    return granularity === undefined || endpoint.cache.daily === true ? answer : this.bucketed(endpoint, rest, granularity, answer)
  }

  /** One subject's report; a daily row's days are bucketed by `granularity` as they are assembled. */
  private async subjectReport (endpoint: ReportEndpoint, account: string, id: string, query: QueryValues, request: ReportRequest, granularity?: Granularity): Promise<CacheAnswer> {
    const forceRefresh = request.forceRefresh === true
    return await this.remembering(endpoint, account, id, query, forceRefresh, async () => {
      if (endpoint.cache.daily === true) return await this.dailyReport(endpoint, account, id, query, forceRefresh, request.context, granularity)
      if (query.all === true) return await this.allPages(endpoint, account, id, query, forceRefresh, request.context)
      return await this.cachedReport(endpoint, account, id, query, forceRefresh, request.context)
    })
  }

  /** Answers from what the upstream refused (a 404, too large), else runs `answer` and remembers such a refusal. */
  private async remembering (endpoint: EndpointRow, account: string, id: string, query: QueryValues, forceRefresh: boolean, answer: () => Promise<CacheAnswer>): Promise<CacheAnswer> {
    // The hot path skips the key when nothing is remembered.
    const remembered = forceRefresh || this.refused.size === 0 ? undefined : this.refused.get(this.refusalKeyOf(endpoint, account, id, query))
    if (remembered !== undefined) throw remembered
    try {
      return await answer()
    } catch (error) {
      if ((error instanceof NotFoundError || error instanceof ReportTooLargeError) && this.notFoundTtlMs > 0) this.refused.set(this.refusalKeyOf(endpoint, account, id, query), error)
      throw error
    }
  }

  /** The days a bucketed row's request covers, up to tomorrow (UTC): no later day appears. */
  private bucketsOf (endpoint: ReportEndpoint, query: QueryValues, granularity: Granularity, data: UsagePoint[]): UsagePoint[] {
    const today = isoDay(this.clock())
    const range = endpoint.cache.rangeOf?.(query, today) ?? { from: today, to: today }
    return bucketPoints(data, range, granularity, endpoint.metrics, addDays(today, 1))
  }

  /** A whole cached report's days in buckets, built once per entry (re-bucketing costs no upstream call). */
  private bucketed (endpoint: ReportEndpoint, query: QueryValues, granularity: Granularity, answer: CacheAnswer): CacheAnswer {
    const key = `${granularity}/${isoDay(this.clock())}`
    let forms = this.bucketedOf.get(answer.entry)
    let entry = forms?.get(key)
    if (entry === undefined) {
      const report = JSON.parse(answer.entry.body) as UsageReport
      const data = this.bucketsOf(endpoint, query, granularity, report.data)
      const body = JSON.stringify({ ...report, data, paging: { ...report.paging, total: data.length } })
      entry = { ...answer.entry, body, etag: etagOf(body) }
      if (forms === undefined) this.bucketedOf.set(answer.entry, forms = new Map())
      forms.set(key, entry)
    }
    return { ...answer, entry }
  }

  /**
   * One report over many subjects, each from its own row's caches, a few at
   * a time. Subjects that fail are listed in `incomplete` (the answer is not
   * cached: a retry asks only the parts its caches lack); with `strict`, or
   * when every subject fails, the first failure is the answer.
   */
  private async fanOutReport (endpoint: ReportEndpoint, fanOut: FanOut, subjectId: string, query: QueryValues, request: ReportRequest): Promise<CacheAnswer> {
    const { over, param = fanOut.fromDirectory?.count ?? '', dimension, maxSubjects, concurrency, fromDirectory } = fanOut
    const { provider } = endpoint
    const named = query[param]
    let names: Record<string, Label> | undefined
    let subjects: Part[]
    if (fromDirectory !== undefined) {
      // The subject's own account lists what the fan-out covers (an app's builds are its account's).
      const account = await this.accountOf(endpoint, subjectId, query, request)
      const count = Number(query[fromDirectory.count] ?? fromDirectory.defaultCount)
      const items = (await this.directory(provider, fromDirectory.directory, subjectId, {}, request.context, account)).slice(0, count)
      subjects = items.map((item) => ({ account, id: item.id }))
      names = Object.fromEntries(items.map((item) => [item.id, { name: item.name }]))
    } else if (typeof named === 'string') {
      const ids = [...new Set(named.split(',').filter((id) => id !== ''))]
      if (ids.length > maxSubjects) throw new InvalidParameterError(param, `The query parameter '${param}' names ${ids.length} subjects; at most ${maxSubjects}.`)
      subjects = []
      for (const id of ids) {
        const question = { provider, type: over.subject.type, id, top: id, account: request.account, grants: request.context.grants, context: request.context }
        subjects.push({ account: await namedBy(param, async () => await this.owners.resolve(question)), id })
      }
    } else {
      subjects = await this.everySubject(provider, over.subject.type, request)
    }
    if (subjects.length > maxSubjects) throw new InvalidParameterError(param, `The query parameter '${param}' names ${subjects.length} subjects; at most ${maxSubjects}.`)
    for (const { account, id } of subjects) {
      const source = this.accounts.source(provider, account)
      if (source === undefined) throw new ProviderNotConfiguredError(provider)
      await namedBy(param, async () => { source.assertKnownSubject?.(over, id) })
    }
    // Parts that start late may answer from their caches (fresh or stale), but fetch nothing: no fan-out outlasts the window by much.
    const partRequest: ReportRequest = { ...request, context: { ...request.context, startBy: this.clock() + this.fanOutWindowMs } }
    const partQuery = Object.fromEntries(Object.keys(over.querystring.properties).filter((name) => query[name] !== undefined).map((name) => [name, query[name]]))
    const parts = await mapBounded(subjects, concurrency, async ({ account, id }) => {
      try {
        const answer = await this.accountReport(over, account, id, partQuery, partRequest)
        this.observer.fanOutPart(provider, endpoint.report, answer.outcome.toLowerCase())
        return { account, id, answer }
      } catch (error) {
        if (!(error instanceof GatewayError)) throw error
        this.observer.fanOutPart(provider, endpoint.report, error.code)
        return { account, id, error }
      }
    })
    const failures = parts.flatMap((part) => part.error === undefined ? [] : [part.error])
    if (failures.length > 0 && (query.strict === true || failures.length === parts.length)) throw failures[0]

    const units: Record<string, string> = {}
    const data: UsagePoint[] = []
    const answers: CacheAnswer[] = []
    const incomplete: IncompletePart[] = []
    for (const { account, id, answer, error } of parts) {
      if (error !== undefined) {
        incomplete.push({ subject: { type: over.subject.type, id }, status: error.status, code: error.code, detail: error.detail, retryAfter: error.retryAfterSeconds ?? null })
        continue
      }
      answers.push(answer)
      const report = JSON.parse(answer.entry.body) as UsageReport
      for (const [name, unit] of Object.entries(report.units)) {
        const held = units[name]
        if (held !== undefined && held !== unit && held !== NO_CURRENCY && unit !== NO_CURRENCY) {
          throw new UpstreamInvalidResponseError(provider, `${provider} reported ${name} in several currencies (${held}, ${unit}).`)
        }
        if (held === undefined || held === NO_CURRENCY) units[name] = unit
      }
      if (fanOut.onePointPerSubject === true) {
        if (report.data.length > 0) data.push(onePointOf(report, { [dimension]: id, account }))
      } else {
        for (const point of report.data) data.push({ ...point, dimensions: { ...point.dimensions, [dimension]: id, account } })
      }
    }
    const accounts = new Set(subjects.map((part) => part.account))
    const additive = new Map(over.metrics.map((def) => [def.name, def.additive]))
    const report: UsageReport = {
      provider,
      report: endpoint.report,
      account: accounts.size === 1 ? [...accounts][0] : null,
      subject: { type: endpoint.subject.type, id: subjectId },
      units,
      data,
      totals: totalsOf(data, (name) => additive.get(name) ?? guessMetric(name).additive, provider),
      paging: { total: data.length, limit: null, next: null },
      ...(incomplete.length > 0 ? { incomplete } : {}),
      // Subjects taken from a directory are named as it names them.
      ...(names === undefined ? {} : { labels: { [dimension]: names } })
    }
    return this.composed(JSON.stringify(report), answers, incomplete.length)
  }

  /** An answer put together from cached parts (not cached whole): as old as its oldest part, HIT only when every part was. */
  private composed (body: string, answers: readonly CacheAnswer[], incomplete = 0): CacheAnswer {
    const ageSeconds = Math.max(0, ...answers.map((answer) => answer.ageSeconds))
    // An incomplete answer is not to be kept by anyone: the next request may get the rest.
    const freshSeconds = incomplete > 0 || answers.length === 0 ? 0 : Math.min(...answers.map((answer) => answer.freshSeconds))
    return {
      entry: { body, etag: etagOf(body), storedAt: this.clock() - ageSeconds * 1000, ttlMs: 0 },
      // A part that failed was not answered by the cache.
      outcome: outcomeOf([...answers.map((answer) => answer.outcome), ...Array.from({ length: incomplete }, (): CacheOutcome => 'MISS')]),
      ageSeconds,
      freshSeconds,
      ...(incomplete > 0 ? { incomplete } : {})
    }
  }

  /** Refuses an upstream fetch that would start after the request's `startBy` (a fan-out's window). */
  private assertMayStart (context: CallContext, provider: string): void {
    if (context.startBy !== undefined && this.clock() >= context.startBy) {
      throw gatewayError('upstream_timeout', `The ${provider} fetch for this subject would have started after the request's ${this.fanOutWindowMs} ms (UPSTREAM_TIMEOUT_MS); it was not made.`, { provider })
    }
  }

  /**
   * A directory answer (`id`: the subject's, '' when the row has none). One
   * account's directory is cached whole like a report; a subject-less
   * directory covers every account the key may use (only what it may see).
   */
  async directoryAnswer (endpoint: DirectoryEndpoint, id: string, query: QueryValues, request: ReportRequest): Promise<CacheAnswer> {
    const forceRefresh = request.forceRefresh === true
    const { provider } = endpoint
    if (endpoint.subject !== null) {
      const found = this.accountOf(endpoint, id, query, request)
      const account = typeof found === 'string' ? found : await found
      noteAccount(request.context, account)
      return await this.accountDirectory(endpoint, account, id, query, forceRefresh, request.context)
    }
    const { grants } = request.context
    const accounts = this.usableAccounts(provider, request)
    if (accounts.length === 1 && grants.subjectsIn(provider, accounts[0]) === 'all') {
      noteAccount(request.context, accounts[0])
      return await this.accountDirectory(endpoint, accounts[0], id, query, forceRefresh, request.context)
    }
    if (query.cursor !== undefined) throw new InvalidParameterError('cursor', `This answer is the whole list of what this API key may see of ${provider}, in one page: it takes no cursor.`)
    const items: DirectoryItem[] = []
    const answers: CacheAnswer[] = []
    for (const account of accounts) {
      noteAccount(request.context, account)
      const pages = await this.directoryPages(endpoint, account, '', query, request.context, forceRefresh)
      answers.push(...pages.answers)
      items.push(...pages.items.filter((item) => grants.maySee(provider, account, item.id)))
    }
    const answer: DirectoryAnswer = { provider, directory: endpoint.directory, subject: null, account: accounts.length === 1 ? accounts[0] : null, items, paging: { total: items.length, limit: null, next: null } }
    return this.composed(JSON.stringify(answer), answers)
  }

  /** The provider's accounts the request may use (the one it names, checked); none is an empty list, not an error. */
  private usableAccounts (provider: string, request: ReportRequest): readonly string[] {
    const { grants } = request.context
    if (request.account !== undefined) return [this.owners.named(provider, grants, request.account)]
    // A key that sees nothing of the provider is not told whether it is configured.
    if (!grants.seesProvider(provider)) return []
    const names = this.accounts.names(provider)
    if (names.length === 0) throw new ProviderNotConfiguredError(provider)
    return grants.all ? names : names.filter((name) => grants.mayUse(provider, name))
  }

  /** One account's directory page (or every page, when its row says so), cached whole; its items name the account. */
  private async accountDirectory (endpoint: DirectoryEndpoint, account: string, id: string, query: QueryValues, forceRefresh: boolean, context: CallContext): Promise<CacheAnswer> {
    return await this.remembering(endpoint, account, id, query, forceRefresh, async () => {
      const source = this.accounts.source(endpoint.provider, account)
      const fetchDirectory = source?.fetchDirectory
      if (source === undefined || fetchDirectory === undefined) throw new ProviderNotConfiguredError(endpoint.provider)
      const load = async (): Promise<string> => {
        let fetched = await fetchDirectory.call(source, endpoint, id, query, context)
        if (endpoint.allPages) {
          const items = [...fetched.items]
          for (let pages = 1; fetched.nextCursor !== null; pages++) {
            if (pages >= this.maxPages) throw new TooManyPagesError(pages + 1, this.maxPages)
            fetched = await fetchDirectory.call(source, endpoint, id, { ...query, cursor: fetched.nextCursor }, context)
            items.push(...fetched.items)
          }
          fetched = { ...fetched, items, paging: { total: items.length, limit: null }, nextCursor: null }
        }
        this.rememberLabels(endpoint, fetched.items)
        const { nextCursor, ...rest } = fetched
        const next = nextCursor === null ? null : this.publicBaseUrl + gatewayPath(endpoint, id, { ...query, cursor: nextCursor })
        const items = rest.items.map((item) => ({ ...item, account }))
        const body = JSON.stringify({ provider: rest.provider, directory: rest.directory, subject: rest.subject, account, items, paging: { ...rest.paging, next } } satisfies DirectoryAnswer)
        if (!this.cache.fits(this.keyOf(endpoint, account, id, query), Buffer.byteLength(body))) throw new ReportTooLargeError(endpoint.provider, Buffer.byteLength(body), this.cache.maxBytes)
        return body
      }
      return await this.cache.fetch(this.keyOf(endpoint, account, id, query), this.ttlMs(endpoint.cache.ttlSeconds), load, forceRefresh, this.refreshFloorMs)
    })
  }

  /** Every subject of `type` the provider's directories list, in each account the request may use, that it may see. */
  private async everySubject (provider: string, type: string, request: ReportRequest): Promise<Part[]> {
    const row = this.directories.find((directory) => directory.provider === provider && directory.itemType === type && directory.subject === null)
    if (row === undefined) return []
    const { grants } = request.context
    const parts = new Map<string, Part>()
    for (const account of this.usableAccounts(provider, request)) {
      for (const item of await this.directory(provider, row.directory, '', {}, request.context, account)) {
        // An app two accounts list is asked of the first.
        if (!parts.has(item.id) && grants.maySee(provider, account, item.id)) parts.set(item.id, { account, id: item.id })
      }
    }
    return [...parts.values()]
  }

  /**
   * Every item of one account's directory (`directory`: `apps`, `builds`, `betaGroups`),
   * every page followed (each cached on its own, up to MAX_PAGES), for the domain's
   * own use: `subjectId` is the subject's id ('' for a directory without one).
   */
  async directory (provider: string, directory: string, subjectId: string, query: QueryValues, context: CallContext, account: string, refresh = false): Promise<DirectoryItem[]> {
    const endpoint = this.directories.find((row) => row.provider === provider && row.directory === directory)
    if (endpoint === undefined) throw new Error(`${provider} has no directory '${directory}'`)
    return (await this.directoryPages(endpoint, account, subjectId, query, context, refresh)).items
  }

  /** Every page of one account's directory, and the cache answers they came from. */
  private async directoryPages (endpoint: DirectoryEndpoint, account: string, subjectId: string, query: QueryValues, context: CallContext, refresh: boolean): Promise<{ items: DirectoryItem[], answers: CacheAnswer[] }> {
    const items: DirectoryItem[] = []
    const answers: CacheAnswer[] = []
    let cursor: string | undefined
    for (let pages = 0; ; pages++) {
      if (pages >= this.maxPages) throw new TooManyPagesError(pages + 1, this.maxPages)
      const answer = await this.accountDirectory(endpoint, account, subjectId, { ...query, cursor }, refresh, context)
      answers.push(answer)
      const page = JSON.parse(answer.entry.body) as DirectoryAnswer
      items.push(...page.items)
      cursor = page.paging.next === null ? undefined : new URL(page.paging.next, 'http://gateway').searchParams.get('cursor') ?? undefined
      if (cursor === undefined) return { items, answers }
    }
  }

  /** A directory's items are labels too: later reports name them without a lookup. */
  private rememberLabels (endpoint: DirectoryEndpoint, items: readonly DirectoryItem[]): void {
    for (const item of items) {
      if (item.name === null) continue
      const label: Label = { name: item.name }
      for (const field of endpoint.labelFields) {
        const value = item.attributes[field]
        label[field] = value === undefined || value === null ? null : String(value)
      }
      this.labelCache.set(`${endpoint.provider}:${item.type}:${item.id}`, label)
    }
  }

  /**
   * The labels of a report's subject and dimension values, from the label
   * cache or the provider's lookups. A lookup that fails leaves its labels
   * out and makes `incomplete` true: a name never fails a report.
   */
  async labelsOf (report: { provider: string, account: string | null, subject: { type: string, id: string }, data: Array<{ dimensions: object }> }, context: CallContext): Promise<{ labels: Labels, incomplete: boolean }> {
    // Each id is looked up in the account that reported it (a fan-out's points name theirs).
    const wanted = new Map<string, { account: string | null, kind: string, ids: Set<string> }>()
    const want = (account: string | null, kind: string, id: string): void => {
      const key = `${account ?? ''}\n${kind}`
      const entry = wanted.get(key) ?? { account, kind, ids: new Set<string>() }
      entry.ids.add(id)
      wanted.set(key, entry)
    }
    want(report.account, report.subject.type, report.subject.id)
    for (const point of report.data) {
      const dimensions = point.dimensions as Record<string, string>
      const account = dimensions.account ?? report.account
      for (const [kind, id] of Object.entries(dimensions)) if (kind !== 'account') want(account, kind, id)
    }
    const labels: Labels = {}
    let incomplete = false
    await Promise.all([...wanted.values()].map(async ({ account, kind, ids }) => {
      const source = account === null ? undefined : this.accounts.source(report.provider, account)
      const found: Record<string, Label> = labels[kind] ?? (labels[kind] = {})
      const missing: string[] = []
      for (const id of ids) {
        const label = this.labelCache.get(`${report.provider}:${kind}:${id}`)
        if (label === undefined) missing.push(id)
        else found[id] = label
      }
      if (missing.length > 0 && source?.labels !== undefined) {
        const lookup = await source.labels(kind, missing, context).catch(() => ({ found: {}, failed: true }))
        incomplete ||= lookup.failed
        for (const [id, label] of Object.entries(lookup.found)) {
          this.labelCache.set(`${report.provider}:${kind}:${id}`, label)
          found[id] = label
        }
      }
    }))
    for (const kind of Object.keys(labels)) if (Object.keys(labels[kind]).length === 0) Reflect.deleteProperty(labels, kind)
    return { labels, incomplete }
  }

  private ttlMs (ttlSeconds: number): number {
    return (this.ttlOverrideSeconds ?? ttlSeconds) * 1000
  }

  /** The account's source, once it accepts the subject; throws when the provider (or the account) is not configured. */
  private sourceOf (endpoint: ReportEndpoint, account: string, id: string): Source {
    const source = this.accounts.source(endpoint.provider, account)
    if (source === undefined) throw new ProviderNotConfiguredError(endpoint.provider)
    source.assertKnownSubject?.(endpoint, id)
    return source
  }

  /** A report cached whole: fresh for its TTL, longer once every day it covers is settled. */
  private async cachedReport (endpoint: ReportEndpoint, account: string, id: string, query: QueryValues, forceRefresh: boolean, context: CallContext): Promise<CacheAnswer> {
    const source = this.sourceOf(endpoint, account, id)
    const load = async (): Promise<string> => {
      this.assertMayStart(context, endpoint.provider)
      const fetched = await source.fetchReport(endpoint, id, query, context)
      const body = serialize(fetched, fetched.nextCursor === null ? null : this.publicBaseUrl + gatewayPath(endpoint, id, { ...query, cursor: fetched.nextCursor }), account)
      const bytes = Buffer.byteLength(body)
      // Too large to keep, it would be fetched again on every request: refuse it (remembered like a 404).
      if (!this.cache.fits(this.keyOf(endpoint, account, id, query), bytes)) throw new ReportTooLargeError(endpoint.provider, bytes, this.cache.maxBytes)
      return body
    }
    const { ttlSeconds: recentTtlSeconds, settledTtlSeconds, rangeOf } = endpoint.cache
    let ttlSeconds = recentTtlSeconds
    if (settledTtlSeconds !== undefined && rangeOf !== undefined) {
      const today = isoDay(this.clock())
      if (rangeOf(query, today).to < addDays(today, -1)) ttlSeconds = settledTtlSeconds
    }
    return await this.cache.fetch(this.keyOf(endpoint, account, id, query), this.ttlMs(ttlSeconds), load, forceRefresh, this.refreshFloorMs)
  }

  /**
   * Every page of a paged report as one: each page is fetched (and cached)
   * on its own, within the budget; the cap is checked once the first page
   * says how many there are.
   */
  private async allPages (endpoint: ReportEndpoint, account: string, id: string, query: QueryValues, forceRefresh: boolean, context: CallContext): Promise<CacheAnswer> {
    const { all, cursor, ...pageQuery } = query
    const pages: CacheAnswer[] = []
    let next: string | undefined = typeof cursor === 'string' ? cursor : undefined
    let first: UsageReport | undefined
    const data: UsageReport['data'] = []
    const units: UsageReport['units'] = {}
    do {
      // Every page is its own call, charged to this caller (cached pages cost nothing).
      const page = await this.cachedReport(endpoint, account, id, { ...pageQuery, cursor: next }, forceRefresh, context)
      const report = JSON.parse(page.entry.body) as UsageReport
      if (first === undefined) {
        first = report
        const count = report.paging.limit === null ? 1 : Math.ceil(report.paging.total / Math.max(1, report.paging.limit))
        if (count > this.maxPages) throw new TooManyPagesError(count, this.maxPages)
      } else if (pages.length >= this.maxPages) {
        throw new TooManyPagesError(pages.length + 1, this.maxPages)
      }
      pages.push(page)
      data.push(...report.data)
      Object.assign(units, report.units)
      next = report.paging.next === null ? undefined : new URL(report.paging.next, 'http://gateway').searchParams.get('cursor') ?? undefined
    } while (next !== undefined)
    const additive = new Map(endpoint.metrics.map((def) => [def.name, def.additive]))
    const body = JSON.stringify({
      ...first,
      units,
      data,
      totals: totalsOf(data, (name) => additive.get(name) ?? guessMetric(name).additive, endpoint.provider),
      paging: { total: first.paging.total, limit: first.paging.limit, next: null }
    } satisfies UsageReport)
    return {
      entry: { body, etag: etagOf(body), storedAt: this.clock() - Math.max(...pages.map((page) => page.ageSeconds)) * 1000, ttlMs: 0 },
      outcome: outcomeOf(pages.map((page) => page.outcome)),
      ageSeconds: Math.max(...pages.map((page) => page.ageSeconds)),
      freshSeconds: Math.min(...pages.map((page) => page.freshSeconds))
    }
  }

  /** Assembled from days, each cached on its own; only missing days cost an upstream call. */
  private async dailyReport (endpoint: ReportEndpoint, account: string, appId: string, query: QueryValues, forceRefresh: boolean, context: CallContext, granularity?: Granularity): Promise<CacheAnswer> {
    const source = this.sourceOf(endpoint, account, appId)
    const { fetchDays, reportOf } = source
    const { ttlSeconds, settledTtlSeconds = ttlSeconds, rangeOf } = endpoint.cache
    if (fetchDays === undefined || reportOf === undefined || rangeOf === undefined) {
      throw new Error(`${endpoint.key} is cached per day, but its row has no rangeOf or its source no fetchDays/reportOf`)
    }
    const today = isoDay(this.clock())
    const settledBefore = addDays(today, -1)
    const recent = addDays(today, -RECENT_DAYS)
    const answer = await this.days.days({
      scope: `${endpoint.key}:${this.accounts.cacheName(endpoint.provider, account)}:${appId}`,
      ...rangeOf(query, today),
      load: async (from, to) => {
        this.assertMayStart(context, endpoint.provider)
        return await fetchDays.call(source, endpoint, appId, from, to, context)
      },
      ttlMsOf: (day, empty) => {
        const ttlMs = this.ttlMs(day < settledBefore ? settledTtlSeconds : ttlSeconds)
        // A recent day reported empty may be an upstream incident: look again sooner.
        return empty && day >= recent ? Math.min(ttlMs, EMPTY_DAY_TTL_MS) : ttlMs
      },
      refreshFloorMs: this.refreshFloorMs,
      // An upstream's day may run ahead of UTC (India's): tomorrow (UTC) can already have traffic.
      lastFetchable: addDays(today, 1),
      forceRefresh,
      onBackgroundError: this.onBackgroundError
    })
    const report = reportOf.call(source, endpoint, appId, answer.days)
    if (granularity !== undefined) {
      report.data = this.bucketsOf(endpoint, query, granularity, report.data)
      report.paging = { ...report.paging, total: report.data.length }
    }
    const body = serialize(report, null, account)
    const now = this.clock()
    return {
      entry: { body, etag: etagOf(body), storedAt: now - answer.ageSeconds * 1000, ttlMs: answer.freshSeconds * 1000 },
      outcome: answer.outcome,
      ageSeconds: answer.ageSeconds,
      freshSeconds: answer.freshSeconds
    }
  }
}
