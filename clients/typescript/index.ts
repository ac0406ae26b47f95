/**
 * The typed client of the usage gateway, for internal apps: openapi-fetch over
 * the types openapi-typescript generates from the gateway's OpenAPI document
 * (schema.ts, `npm run client`). Base URL and API key are given once; every
 * route is typed by path and query; a problem answer is thrown as a GatewayProblem.
 */
import createClient, {
  type Client,
  type ClientPathsWithMethod,
  type MaybeOptionalInit,
  type MethodResponse
} from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, operations, paths } from './schema.js'
export type UsageReport = components['schemas']['UsageReport']
export type Problem = components['schemas']['Problem']

export interface GatewayClientOptions {
  /** Where the gateway answers, with its path prefix if any: `https://api.example.com/usage-gateway`. */
  baseUrl: string
  /** One of the gateway's GATEWAY_API_KEYS, sent as `X-API-Key`; leave it out when the gateway has none. */
  apiKey?: string
  /** Headers sent with every request (say `X-Request-Id` from your own request). */
  headers?: Record<string, string>
  /** A fetch to use instead of the global one (a proxy, a test double). */
  fetch?: (request: Request) => Promise<Response>
}

type OpenApiClient = Client<paths, 'application/json'>
type GetPath = ClientPathsWithMethod<OpenApiClient, 'get'>
type RequiredKeysOf<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T]
/** The options argument: required when the route has a required parameter (path or query), else optional. */
type InitArgument<Init> = RequiredKeysOf<Init> extends never ? [Init?] : [Init]

/** A 2xx answer: its body, typed by the route (a string with `parseAs: 'text'`), and the response for its headers. */
export interface GatewayAnswer<Data> {
  data: Data
  /** `X-Cache` (HIT, MISS, STALE), `Age`, `ETag` and `X-Request-Id` are here. */
  response: Response
}

export interface GatewayClient {
  /**
   * GETs a route: `GET('/usage/gupshup/apps/{appId}', { params: { path: { appId }, query: { from, to } } })`.
   * Resolves with the 2xx answer; rejects with a GatewayProblem on any other status.
   */
  GET: <Path extends GetPath, Init extends MaybeOptionalInit<paths[Path], 'get'>>(
    path: Path,
    ...init: InitArgument<Init>
  ) => Promise<GatewayAnswer<MethodResponse<OpenApiClient, 'get', Path, Init>>>
}

/** An answer that is not 2xx: the gateway's problem+json, with `Retry-After` read as seconds. */
export class GatewayProblem extends Error {
  override readonly name = 'GatewayProblem'
  /** The HTTP status. */
  readonly status: number
  /**
   * The gateway's stable code (`invalid_parameter`, `unauthorized`, `upstream_rate_limited`...); `not_modified`
   * for a 304 (only when you sent `If-None-Match`), `http_<status>` when the body is not a problem (a proxy's page).
   */
  readonly code: string
  /** What went wrong, for a person. */
  readonly detail: string
  /** Seconds to wait before retrying (from `Retry-After`), when the gateway said. */
  readonly retryAfter: number | undefined
  /** The request parameter at fault, for a 400 `invalid_parameter`. */
  readonly parameter: string | undefined
  /** The gateway's request id (also in its logs): quote it in a bug report. */
  readonly requestId: string | undefined
  /** The problem+json body as sent, when it was one. */
  readonly problem: Problem | undefined

  constructor (response: Response, body: unknown) {
    const problem = isProblem(body) ? body : undefined
    const status = response.status
    const detail = problem?.detail ?? (status === 304 ? 'Not modified.' : `HTTP ${status} ${response.statusText}`.trim())
    super(detail)
    this.status = status
    this.code = problem?.code ?? (status === 304 ? 'not_modified' : `http_${status}`)
    this.detail = detail
    this.retryAfter = secondsOf(response.headers.get('retry-after'))
    this.parameter = problem?.parameter
    this.requestId = problem?.requestId ?? response.headers.get('x-request-id') ?? undefined
    this.problem = problem
  }
}

export function createGatewayClient (options: GatewayClientOptions): GatewayClient {
  const client = createClient<paths, 'application/json'>({
    baseUrl: options.baseUrl,
    fetch: options.fetch,
    headers: { ...options.headers, ...(options.apiKey === undefined ? {} : { 'x-api-key': options.apiKey }) }
  })
  // openapi-fetch's generic signature is the one GatewayClient['GET'] spells; it cannot follow the rest argument.
  const get = client.GET as (path: string, init?: object) => Promise<{ data?: unknown, error?: unknown, response: Response }>
  return {
    GET: async (path, ...init) => {
      const { data, error, response } = await get(path, init[0])
      if (!response.ok) throw new GatewayProblem(response, error)
      return { data: data as never, response }
    }
  }
}

function isProblem (body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string' &&
    typeof (body as Problem).detail === 'string'
}

/** `Retry-After` as whole seconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
function secondsOf (header: string | null): number | undefined {
  if (header === null) return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim())
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}
