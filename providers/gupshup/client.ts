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
import { upstreamPathOf, upstreamQueryOf, type QueryValues } from '../../src/endpoint.js'
import { guardedGet, type CallGuard } from '../../src/upstream/guarded-call.js'
import type { UpstreamHttp, UpstreamResponse } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'
import type { GupshupEndpoint } from './endpoints.js'
import { dailyReport, dayRowsOf, rowsOf } from './normalize.js'
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

  /** The apps this source can serve (a fan-out without `apps` covers them): the one place a directory plugs in. */
  async listSubjects (type: string): Promise<string[]> {
    return type === 'app' ? this.tokens.knownApps() : []
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
    return rows
  }

  private async get (path: string, token: string, report: string, context: CallContext): Promise<UpstreamResponse> {
    return await guardedGet({ http: this.http, guard: this.guard, key: budgetKeyOf(token), path, headers: { authorization: token }, report, context })
  }
}
