/**
 * Calls Gupshup's Partner API with each app's own token and maps its answers
 * to normalized days and reports, or typed errors.
 */
import { createHash } from 'node:crypto'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UpstreamInvalidResponseError } from '../../src/errors.js'
import type { DayRow } from '../../src/days.js'
import { isoDay } from '../../src/days.js'
import type { Source } from '../../src/provider.js'
import type { FetchedReport } from '../../src/report.js'
import type { DirectoryItem, FetchedDirectory, Label, LabelLookup } from '../../src/directory.js'
import { directoryQueryOf, upstreamPathOf, upstreamQueryOf, type DirectoryEndpoint, type QueryValues } from '../../src/endpoint.js'
import { guardedGet, type CallGuard } from '../../src/upstream/guarded-call.js'
import type { UpstreamHttp, UpstreamResponse } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'
import type { GupshupEndpoint } from './endpoints.js'
import { APP_LIST_PAGE_SIZE, gupshupDirectories } from './directories.js'
import { appListOf, dailyReport, dayRowsOf, rowsOf } from './normalize.js'
import { unknownApp, type GupshupTokens } from './tokens.js'
import type { CallContext } from '../../src/upstream-timing.js'

const isGupshupMessage = Compile(Type.Object({ status: Type.Optional(Type.String()), message: Type.Optional(Type.String()) }))

/** Budgets are per token, keyed by a digest so that no token sits in a map key or a log. */
const budgetKeyOf = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 16)

export class GupshupClient implements Source<GupshupEndpoint> {
  private readonly http: UpstreamHttp
  private readonly tokens: GupshupTokens
  private readonly guard: CallGuard
  private readonly now: () => number
  /** App id → the `appName` its usage rows last said (no call of its own: the rows carry it). */
  private readonly names = new Map<string, string>()

  constructor (http: UpstreamHttp, tokens: GupshupTokens, guard: CallGuard, now: () => number = Date.now) {
    this.http = http
    this.tokens = tokens
    this.guard = guard
    this.now = now
  }

  /** Throws unknown_app, before any upstream call, for an app no token can be had for. */
  assertKnownSubject (_endpoint: GupshupEndpoint, appId: string): void {
    if (!this.tokens.canServe(appId)) throw unknownApp(appId)
  }

  /** The days Gupshup has for the app in [from, to] (daily endpoints). */
  async fetchDays (endpoint: GupshupEndpoint, appId: string, from: string, to: string, context: CallContext): Promise<Map<string, DayRow>> {
    return dayRowsOf(endpoint, await this.rows(endpoint, appId, { from, to }, context), { from, to })
  }

  /** A whole report (the endpoints that are not cached per day). */
  async fetchReport (endpoint: GupshupEndpoint, appId: string, query: QueryValues, context: CallContext): Promise<FetchedReport> {
    const today = isoDay(this.now())
    const range = endpoint.cache.rangeOf(query, today)
    const days = dayRowsOf(endpoint, await this.rows(endpoint, appId, query, context), range)
    return dailyReport(endpoint, appId, [...days])
  }

  reportOf (endpoint: GupshupEndpoint, appId: string, days: Array<[string, DayRow | null]>): FetchedReport {
    return dailyReport(endpoint, appId, days)
  }

  async close (): Promise<void> {
    await this.http.close()
  }

  /**
   * One page of the partner's app list (`query.cursor`: the page number), only
   * the apps a token can be had for; without partner sign-in, the apps of
   * GUPSHUP_APP_TOKENS, named where their usage rows have said.
   */
  async fetchDirectory (endpoint: DirectoryEndpoint, _id: string, query: QueryValues, context: CallContext): Promise<FetchedDirectory> {
    const answer = (items: DirectoryItem[], nextCursor: string | null): FetchedDirectory =>
      ({ provider: 'gupshup', directory: endpoint.directory, subject: null, items, paging: { total: items.length, limit: null }, nextCursor })
    if (!this.tokens.hasPartner) {
      return answer(this.tokens.configuredApps().map((id) => ({ type: 'app', id, name: this.names.get(id) ?? null, attributes: { live: null, stopped: null } })), null)
    }
    const pageNo = Number(query.cursor ?? 1)
    const path = `${endpoint.upstreamPath}?${directoryQueryOf(endpoint, '', { ...query, cursor: pageNo }).toString()}`
    const response = await this.tokens.partnerGet(path, endpoint.directory, context)
    if (response.status !== 200) {
      throw statusError('gupshup', response, {
        message: isGupshupMessage.Check(response.json) ? response.json.message : undefined,
        notFound: 'gupshup has no partner app list here.',
        credential: 'the partner token'
      })
    }
    const list = appListOf(response.json)
    for (const app of list) if (app.name !== null) this.names.set(app.id, app.name)
    const items = list.filter((app) => this.tokens.canServe(app.id))
    return answer(items, list.length >= APP_LIST_PAGE_SIZE ? String(pageNo + 1) : null)
  }

  /**
   * App names: from the usage rows' `appName` (no call), else, with partner
   * sign-in, from the partner's app list. A failed list leaves them out.
   */
  async labels (kind: string, ids: readonly string[], context: CallContext): Promise<LabelLookup> {
    const found: Record<string, Label> = {}
    if (kind !== 'app') return { found, failed: false }
    const named = (): string[] => ids.filter((id) => this.names.has(id))
    if (named().length < ids.length && this.tokens.hasPartner) {
      try {
        let cursor: string | null = null
        do {
          cursor = (await this.fetchDirectory(gupshupDirectories[0], '', cursor === null ? {} : { cursor }, context)).nextCursor
        } while (cursor !== null && named().length < ids.length)
      } catch {
        for (const id of named()) found[id] = { name: this.names.get(id) ?? null }
        return { found, failed: true }
      }
    }
    for (const id of named()) found[id] = { name: this.names.get(id) ?? null }
    return { found, failed: false }
  }

  private async rows (endpoint: GupshupEndpoint, appId: string, query: QueryValues, context: CallContext): Promise<unknown[]> {
    const search = upstreamQueryOf(endpoint, query).toString()
    const path = upstreamPathOf(endpoint, appId) + (search === '' ? '' : `?${search}`)
    const token = await this.tokens.tokenFor(appId, context)
    let response = await this.get(path, token, endpoint.report, context)
    if (response.status === 401 && this.tokens.refused(appId, token)) {
      // A fetched app token was revoked: fetch it again, once, and try once more.
      response = await this.get(path, await this.tokens.tokenFor(appId, context), endpoint.report, context)
    }
    if (response.status !== 200) {
      throw statusError('gupshup', response, {
        message: isGupshupMessage.Check(response.json) ? response.json.message : undefined,
        notFound: `gupshup has no app '${appId}'.`,
        credential: `the app token for '${appId}'`
      })
    }
    const body = (typeof response.json === 'object' && response.json !== null ? response.json : {}) as Record<string, unknown>
    const rows = body.status === undefined || body.status === 'success' ? rowsOf(endpoint, body, isoDay(this.now())) : undefined
    if (rows === undefined) {
      throw new UpstreamInvalidResponseError('gupshup', `gupshup sent a 200 without ${endpoint.rows.field} (or with status "${String(body.status)}").`)
    }
    const appName = (rows.find((row) => typeof (row as { appName?: unknown } | null)?.appName === 'string') as { appName: string } | undefined)?.appName
    if (appName !== undefined) this.names.set(appId, appName)
    return rows
  }

  private async get (path: string, token: string, report: string, context: CallContext): Promise<UpstreamResponse> {
    return await guardedGet({ http: this.http, guard: this.guard, key: budgetKeyOf(token), path, headers: { authorization: token }, report, context })
  }
}
