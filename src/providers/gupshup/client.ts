/**
 * Calls Gupshup's Partner API with each app's own token and maps its answers
 * to normalized reports or typed errors.
 */
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UnknownAppError, UpstreamInvalidResponseError } from '../../errors.js'
import type { FetchedReport } from '../../report.js'
import { upstreamPathOf, upstreamQueryOf, type QueryValues } from '../endpoint.js'
import type { UpstreamHttp } from '../../upstream/http.js'
import { statusError } from '../../upstream/status-error.js'
import type { GupshupEndpoint } from './endpoints.js'
import { normalizeGupshup } from './normalize.js'

const isGupshupMessage = Compile(Type.Object({ status: Type.Optional(Type.String()), message: Type.Optional(Type.String()) }))

export class GupshupClient {
  private readonly http: UpstreamHttp
  private readonly appTokens: Record<string, string>

  constructor (http: UpstreamHttp, appTokens: Record<string, string>) {
    this.http = http
    this.appTokens = appTokens
  }

  async fetchReport (endpoint: GupshupEndpoint, appId: string, query: QueryValues): Promise<FetchedReport> {
    const token = Object.hasOwn(this.appTokens, appId) ? this.appTokens[appId] : undefined
    if (token === undefined) throw new UnknownAppError(appId)
    const path = `${upstreamPathOf(endpoint, appId)}?${upstreamQueryOf(endpoint, query).toString()}`
    const response = await this.http.get(path, { authorization: token })
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
    return normalizeGupshup(endpoint, appId, rows, { from: String(query.from), to: String(query.to) })
  }

  async close (): Promise<void> {
    await this.http.close()
  }
}
