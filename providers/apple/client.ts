/**
 * Calls App Store Connect's metrics endpoints and maps Apple's answers to
 * normalized reports or typed errors.
 */
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { NotFoundError, UpstreamInvalidResponseError } from '../../src/errors.js'
import type { Source } from '../../src/provider.js'
import type { FetchedReport } from '../../src/report.js'
import type { FetchedDirectory, Label, LabelLookup } from '../../src/directory.js'
import { directoryQueryOf, upstreamPathOf, upstreamQueryOf, type DirectoryEndpoint, type QueryValues } from '../../src/endpoint.js'
import { guardedGet, type CallGuard } from '../../src/upstream/guarded-call.js'
import type { AppleQuota } from '../../src/upstream/budget.js'
import type { UpstreamHttp, UpstreamResponse } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'
import type { AppleEndpoint } from './endpoints.js'
import { nextCursorOf, normalizeApple } from './normalize.js'
import { itemOf, SUBJECT_LOOKUPS, testerLabel } from './resources.js'
import { isAppleErrorResponse, isAppleMetricResponse, isAppleResourceDocument, isAppleResourceList } from './schemas.js'
import type { AppleTokenSigner } from './token.js'
import type { CallContext } from '../../src/upstream-timing.js'

/** Apple's most ids per `filter[id]` lookup of testers. */
export const TESTER_BATCH = 50

/** The subjects that belong to an app, and Apple's resource type of each (their `relationships/app` path). */
const APP_CHILDREN: Record<string, string> = { build: 'builds', betaGroup: 'betaGroups' }

/** A to-one relationship's linkage to an app (Apple's BuildAppLinkageResponse, BetaGroupAppLinkageResponse). */
const isAppleAppLinkage = Compile(Type.Object({
  data: Type.Object({ type: Type.Literal('apps'), id: Type.String({ minLength: 1 }) }),
  links: Type.Object({ self: Type.String() })
}))

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

  /** A 200's body, or the typed error of Apple's answer; a 401 mints a new token and tries once more. */
  private async call (path: string, report: string, context: CallContext, notFound: string): Promise<unknown> {
    let response = await this.get(path, report, context)
    if (response.status === 401) {
      // The token may have been revoked or the clock jumped: mint once more, try once more.
      this.signer.invalidate()
      response = await this.get(path, report, context)
    }
    if (response.status === 200) return response.json
    const first = isAppleErrorResponse.Check(response.json) ? response.json.errors[0] : undefined
    throw statusError('apple', response, {
      message: first?.detail ?? first?.title,
      parameter: first?.source?.parameter,
      notFound,
      credential: "the gateway's API key"
    })
  }

  /** `context` says whose request the calls are charged to. */
  async fetchReport (endpoint: AppleEndpoint, id: string, query: QueryValues, context: CallContext): Promise<FetchedReport> {
    const search = upstreamQueryOf(endpoint, query)
    const grouping = endpoint.groupByUnlessFiltered
    if (grouping !== undefined && query[grouping.filter] === undefined) search.set('groupBy', grouping.groupBy)
    const path = upstreamPathOf(endpoint, id) + (search.size > 0 ? `?${search.toString()}` : '')
    const body = await this.call(path, endpoint.report, context, `apple has no ${endpoint.subject.type} '${id}' (or this API key cannot see it).`)
    if (!isAppleMetricResponse.Check(body)) {
      throw new UpstreamInvalidResponseError('apple', 'apple sent a 200 whose body is not a metrics response.')
    }
    return normalizeApple(endpoint, id, body, this.http.baseUrl)
  }

  /** One page of the apps, an app's builds or its beta groups. */
  async fetchDirectory (endpoint: DirectoryEndpoint, id: string, query: QueryValues, context: CallContext): Promise<FetchedDirectory> {
    const path = `${upstreamPathOf(endpoint, id)}?${directoryQueryOf(endpoint, id, query).toString()}`
    const subject = endpoint.subject === null ? null : { type: endpoint.subject.type, id }
    const body = await this.call(path, endpoint.directory, context, `apple has no ${subject?.type ?? 'resource'} '${id}' (or this API key cannot see it).`)
    if (!isAppleResourceList.Check(body)) {
      throw new UpstreamInvalidResponseError('apple', `apple sent a 200 whose body is not a list of ${endpoint.directory}.`)
    }
    return {
      provider: 'apple',
      directory: endpoint.directory,
      subject,
      items: body.data.map((resource) => itemOf(endpoint.directory, resource, body.included ?? [])),
      paging: { total: body.meta?.paging.total ?? body.data.length, limit: body.meta?.paging.limit ?? null },
      nextCursor: nextCursorOf(body, this.http.baseUrl)
    }
  }

  /**
   * Testers in batches of TESTER_BATCH (one call each), apps, builds and groups
   * one call each, all within the key's budget and queue. A failed call leaves
   * its labels out; no name or email reaches an error.
   */
  async labels (kind: string, ids: readonly string[], context: CallContext): Promise<LabelLookup> {
    const found: Record<string, Label> = {}
    const lookups: Array<Promise<void>> = []
    if (kind === 'betaTester') {
      for (let start = 0; start < ids.length; start += TESTER_BATCH) {
        const batch = ids.slice(start, start + TESTER_BATCH)
        const path = `/v1/betaTesters?filter[id]=${batch.map(encodeURIComponent).join(',')}&fields[betaTesters]=firstName,lastName,email,inviteType&limit=${TESTER_BATCH}`
        lookups.push(this.call(path, 'betaTesterLabels', context, 'apple has none of these beta testers.').then((body) => {
          if (!isAppleResourceList.Check(body)) throw new UpstreamInvalidResponseError('apple', 'apple sent a 200 whose body is not a list of beta testers.')
          for (const tester of body.data) if (batch.includes(tester.id)) found[tester.id] = testerLabel(tester)
        }))
      }
    } else {
      const lookup = SUBJECT_LOOKUPS[kind]
      if (lookup === undefined) return { found, failed: false }
      for (const id of ids) {
        lookups.push(this.call(lookup.path(id), `${kind}Labels`, context, `apple has no ${kind} '${id}'.`).then((body) => {
          if (!isAppleResourceDocument.Check(body)) throw new UpstreamInvalidResponseError('apple', `apple sent a 200 whose body is not a ${kind}.`)
          found[id] = lookup.label(body.data, body.included ?? [])
        }))
      }
    }
    const outcomes = await Promise.allSettled(lookups)
    // An id Apple does not have is not a failure: it has no name to give.
    return { found, failed: outcomes.some((outcome) => outcome.status === 'rejected' && !(outcome.reason instanceof NotFoundError)) }
  }

  /** The app a build or beta group belongs to: `GET /v1/{builds|betaGroups}/{id}/relationships/app`. */
  async parentOf (type: string, id: string, context: CallContext): Promise<string> {
    const resource = Object.hasOwn(APP_CHILDREN, type) ? APP_CHILDREN[type] : undefined
    if (resource === undefined) throw new Error(`apple cannot say which app a ${type} belongs to`)
    const path = `/v1/${resource}/${encodeURIComponent(id)}/relationships/app`
    const body = await this.call(path, `${type}App`, context, `apple has no ${type} '${id}' (or this API key cannot see it).`)
    if (!isAppleAppLinkage.Check(body)) {
      throw new UpstreamInvalidResponseError('apple', `apple sent a 200 whose body is not the app of a ${type}.`)
    }
    return body.data.id
  }

  async close (): Promise<void> {
    await this.http.close()
  }
}
