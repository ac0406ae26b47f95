/**
 * Calls App Store Connect's metrics endpoints and maps Apple's answers to
 * normalized reports or typed errors.
 */
import { UpstreamInvalidResponseError } from '../../src/errors.js'
import type { Source } from '../../src/provider.js'
import type { FetchedReport } from '../../src/report.js'
import { upstreamPathOf, upstreamQueryOf, type QueryValues } from '../../src/endpoint.js'
import { guardedGet, type CallGuard } from '../../src/upstream/guarded-call.js'
import type { AppleQuota } from '../../src/upstream/budget.js'
import type { UpstreamHttp, UpstreamResponse } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'
import type { AppleEndpoint } from './endpoints.js'
import { normalizeApple } from './normalize.js'
import { isAppleErrorResponse, isAppleMetricResponse } from './schemas.js'
import type { AppleTokenSigner } from './token.js'
import type { CallContext } from '../../src/upstream-timing.js'

export class AppleClient implements Source<AppleEndpoint> {
  private readonly http: UpstreamHttp
  private readonly signer: AppleTokenSigner
  private readonly guard: CallGuard
  /** Budgets and back-off are per API key. */
  private readonly keyId: string

  private readonly appleQuota?: AppleQuota

  constructor (http: UpstreamHttp, signer: AppleTokenSigner, guard: CallGuard, keyId: string, quota?: AppleQuota) {
    this.http = http
    this.signer = signer
    this.guard = guard
    this.keyId = keyId
    this.appleQuota = quota
  }

  /** Apple's last X-Rate-Limit figures for this key. */
  quota (): Record<string, Record<string, number>> {
    const figures = this.appleQuota?.figures(this.keyId)
    return figures === undefined ? {} : { [this.keyId]: figures }
  }

  private async get (path: string, report: string, context: CallContext): Promise<UpstreamResponse> {
    return await guardedGet({ http: this.http, guard: this.guard, key: this.keyId, path, headers: { authorization: `Bearer ${await this.signer.token()}` }, report, context })
  }

  /** `context` says whose request the calls are charged to. */
  async fetchReport (endpoint: AppleEndpoint, id: string, query: QueryValues, context: CallContext): Promise<FetchedReport> {
    const search = upstreamQueryOf(endpoint, query)
    const grouping = endpoint.groupByUnlessFiltered
    if (grouping !== undefined && query[grouping.filter] === undefined) search.set('groupBy', grouping.groupBy)
    const path = upstreamPathOf(endpoint, id) + (search.size > 0 ? `?${search.toString()}` : '')

    let response = await this.get(path, endpoint.report, context)
    if (response.status === 401) {
      // The token may have been revoked or the clock jumped: mint once more, try once more.
      this.signer.invalidate()
      response = await this.get(path, endpoint.report, context)
    }
    if (response.status === 200) {
      if (!isAppleMetricResponse.Check(response.json)) {
        throw new UpstreamInvalidResponseError('apple', 'apple sent a 200 whose body is not a metrics response.')
      }
      return normalizeApple(endpoint, id, response.json, this.http.baseUrl)
    }
    const first = isAppleErrorResponse.Check(response.json) ? response.json.errors[0] : undefined
    throw statusError('apple', response, {
      message: first?.detail ?? first?.title,
      parameter: first?.source?.parameter,
      notFound: `apple has no ${endpoint.subject.type} '${id}' (or this API key cannot see it).`,
      credential: "the gateway's API key"
    })
  }

  async close (): Promise<void> {
    await this.http.close()
  }
}
