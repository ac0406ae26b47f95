/**
 * Calls Gupshup's Partner API with each app's own token and maps its answers
 * to normalized reports or typed errors.
 */
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UnknownAppError, UpstreamInvalidResponseError } from '../../errors.js'
import { createHash } from 'node:crypto'
import type { DayRow } from '../../cache/day-cache.js'
import type { FetchedReport } from '../../report.js'
import { upstreamPathOf, upstreamQueryOf } from '../endpoint.js'
import { guardedGet, type CallGuard } from '../../upstream/guarded-call.js'
import type { UpstreamHttp } from '../../upstream/http.js'
import { statusError } from '../../upstream/status-error.js'
import type { GupshupEndpoint } from './endpoints.js'
import { dailyReport, dayRowsOf } from './normalize.js'

const isGupshupMessage = Compile(Type.Object({ status: Type.Optional(Type.String()), message: Type.Optional(Type.String()) }))

export class GupshupClient {
  private readonly http: UpstreamHttp
  private readonly appTokens: Record<string, string>
  private readonly guard: CallGuard

  constructor (http: UpstreamHttp, appTokens: Record<string, string>, guard: CallGuard) {
    this.http = http
    this.appTokens = appTokens
    this.guard = guard
  }

  /** Throws unknown_app, before any upstream call, for an app without a token. */
  assertKnownApp (appId: string): void {
    if (!Object.hasOwn(this.appTokens, appId)) throw new UnknownAppError(appId)
  }

  /** The days Gupshup has for the app in [from, to]. */
  async fetchDays (endpoint: GupshupEndpoint, appId: string, from: string, to: string): Promise<Map<string, DayRow>> {
    this.assertKnownApp(appId)
    const token = this.appTokens[appId]
    // Budgets are per token; they are keyed by a digest so no token sits in a map key or a log.
    const budgetKey = createHash('sha256').update(token).digest('hex').slice(0, 16)
    const path = `${upstreamPathOf(endpoint, appId)}?${upstreamQueryOf(endpoint, { from, to }).toString()}`
    const response = await guardedGet(this.http, this.guard, budgetKey, path, { authorization: token })
    if (response.status !== 200) {
      throw statusError('gupshup', response, {
        message: isGupshupMessage.Check(response.json) ? response.json.message : undefined,
        notFound: `gupshup has no app '${appId}'.`,
        credential: `the app token configured for '${appId}'`
      })
    }
    const body = response.json as Record<string, unknown> | undefined
    const rows = body?.[endpoint.listField]
    if (body?.status !== 'success' || !Array.isArray(rows)) {
      throw new UpstreamInvalidResponseError('gupshup', `gupshup sent a 200 without status "success" and a ${endpoint.listField} list.`)
    }
    return dayRowsOf(endpoint, rows, { from, to })
  }

  reportOf (endpoint: GupshupEndpoint, appId: string, days: Array<[string, DayRow | null]>): FetchedReport {
    return dailyReport(endpoint, appId, days)
  }

  async close (): Promise<void> {
    await this.http.close()
  }
}
