/**
 * What every report route shares: its OpenAPI description (responses,
 * errors, examples) and its handler: validate (by schema), ask the usage
 * service, reply with caching headers.
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { Type, type TObject } from 'typebox'
import { ID_PATTERN } from '../src/patterns.js'
import { reportToCsv } from '../src/csv.js'
import { problemType } from '../src/problem.js'
import { totalsOf, unitsOf, type UsageReport } from '../src/report.js'
import { startTally, type CallContext } from '../src/upstream-timing.js'
import { gatewayPath, type AnyEndpoint } from '../src/usage-service.js'

/** An opaque upstream id: letters, digits and dashes, so it can never alter an upstream path. */
export const Id = (description: string, example: string): ReturnType<typeof Type.String> =>
  Type.String({ pattern: ID_PATTERN, description, examples: [example] })

const problemResponse = (status: number, code: string, title: string, detail: string, description: string): unknown => ({
  description,
  content: {
    'application/problem+json': {
      schema: Type.Ref('Problem'),
      example: { type: problemType(code), title, status, detail, code, requestId: 'req-1', instance: '/usage/...' }
    }
  }
})

const PROBLEMS = {
  400: problemResponse(400, 'invalid_parameter', 'Invalid parameter', "The query parameter 'limit' must be at most 200.", 'A parameter is invalid (named in `parameter`), the upstream rejected the request (`upstream_bad_request`), or the request has a body (`body_not_allowed`).'),
  401: problemResponse(401, 'unauthorized', 'Unauthorized', 'The API key is not valid for this gateway.', 'No valid gateway API key (only when the gateway has keys).'),
  404: problemResponse(404, 'not_found', 'Not found', "apple has no build 'ace4f47a-0000' (or this API key cannot see it).", 'The upstream has no such subject (`not_found`), or no token is configured for the Gupshup app (`unknown_app`).'),
  429: problemResponse(429, 'upstream_rate_limited', 'Upstream rate limit reached', 'gupshup call budget of this credential is spent (the gateway never exceeds the upstream\'s limit); retry after 42 s.', 'The upstream budget is spent and nothing stale is cached (`upstream_rate_limited`), this caller has spent its share of a contended upstream budget (`caller_upstream_share`), its inbound limit is spent (`rate_limited`), or its address failed too many key checks (`auth_throttled`); `Retry-After` says when to retry.'),
  502: problemResponse(502, 'upstream_error', 'Upstream error', 'apple answered 503: Service Unavailable', 'The upstream failed (`upstream_error`), sent an unreadable body (`upstream_invalid_response`), refused the gateway credentials (`upstream_unauthorized`), or sent a report larger than the cache bound (`report_too_large`).'),
  503: problemResponse(503, 'provider_not_configured', 'Provider not configured', 'This gateway has no credentials for apple; see the configuration section of the README.', 'The gateway has no credentials for this provider (`provider_not_configured`), or too many calls already wait for the upstream (`upstream_busy`, with `Retry-After`).'),
  504: problemResponse(504, 'upstream_timeout', 'Upstream timeout', 'gupshup did not answer within 10000 ms.', 'The upstream did not answer within UPSTREAM_TIMEOUT_MS.')
}

/** A plausible report for the spec's examples, built from the endpoint's own metric table. */
export function exampleReport (endpoint: AnyEndpoint, subjectId: string): UsageReport {
  const metrics = Object.fromEntries(endpoint.metrics.map((def, index) => [def.name, def.unit === 'count' ? 3 + index * 2 : 0.05 * (index + 1)]))
  const data = [{ start: '2024-01-10', end: endpoint.provider === 'gupshup' ? '2024-01-10' : '2025-01-10', dimensions: {}, metrics }]
  const additive = new Map(endpoint.metrics.map((def) => [def.name, def.additive]))
  return {
    provider: endpoint.provider,
    report: endpoint.report,
    subject: { type: endpoint.subject.type, id: subjectId },
    units: unitsOf(endpoint.metrics, endpoint.provider === 'gupshup' ? 'USD' : undefined),
    data,
    totals: totalsOf(data, (name) => additive.get(name) ?? false),
    paging: { total: 1, limit: endpoint.paged ? 50 : null, next: endpoint.paged ? gatewayPath(endpoint, subjectId, { cursor: 'BQ.TGQPUQ' }) : null }
  }
}

function freshness (endpoint: AnyEndpoint): string {
  if (endpoint.provider === 'gupshup' && endpoint.daily !== undefined) {
    return `Cached per day, not per range: a settled day (two or more days past) for ${endpoint.daily.settledTtlSeconds} s, recent days for ${endpoint.ttlSeconds} s, unless CACHE_TTL_SECONDS says otherwise; only days missing from the cache cost an upstream call.`
  }
  if (endpoint.provider === 'gupshup' && endpoint.settledTtlSeconds !== undefined) {
    return `Answers from the cache when it can (\`X-Cache\`): a past month for ${endpoint.settledTtlSeconds} s, the current one for ${endpoint.ttlSeconds} s, unless CACHE_TTL_SECONDS says otherwise.`
  }
  return `Answers from the cache when it can (\`X-Cache\`), fresh for ${endpoint.ttlSeconds} s unless CACHE_TTL_SECONDS says otherwise.`
}

export function reportRouteSchema (endpoint: AnyEndpoint, params: TObject, querystring: TObject, exampleId: string): Record<string, unknown> {
  return {
    tags: [endpoint.provider],
    summary: endpoint.summary,
    description: `Upstream: \`GET ${endpoint.upstreamPath}\`. ${freshness(endpoint)} Send \`Cache-Control: no-cache\` to force a refresh, \`If-None-Match\` to revalidate.`,
    operationId: endpoint.key.replace(/\.(\w)/g, (_, letter: string) => letter.toUpperCase()),
    security: [{ apiKey: [] }, { bearer: [] }],
    params,
    querystring,
    response: {
      200: {
        description: 'The normalized report.',
        headers: {
          'x-cache': { type: 'string', enum: ['HIT', 'MISS', 'STALE'], description: 'Whether the cache answered.' },
          etag: { type: 'string', description: 'Strong validator of the body.' },
          age: { type: 'integer', description: 'Seconds since the report was fetched upstream.' },
          'cache-control': { type: 'string', description: '`private, max-age=N`: N seconds of freshness left.' }
        },
        content: {
          'application/json': { schema: Type.Ref('UsageReport'), example: exampleReport(endpoint, exampleId) },
          'text/csv': {
            schema: Type.String({ description: 'With `Accept: text/csv`: one row per point (start, end, each dimension, each metric) under a header row.' }),
            example: reportToCsv(exampleReport(endpoint, exampleId))
          }
        }
      },
      304: { description: 'Not modified: the `If-None-Match` tag is current.', type: 'null' },
      ...PROBLEMS
    }
  }
}

/** `Cache-Control: no-cache` (or `Pragma: no-cache`) asks for a fresh upstream copy. */
export function wantsFreshCopy (request: FastifyRequest): boolean {
  return /\bno-cache\b/i.test(String(request.headers['cache-control'] ?? request.headers.pragma ?? ''))
}

/**
 * Whom this request's upstream calls are charged to: the verified key's name,
 * or (a gateway without keys) the client address, which metrics never name.
 */
export function callContextOf (request: FastifyRequest): CallContext {
  return {
    caller: request.caller !== '' ? request.caller : `ip:${request.ip}`,
    label: request.caller !== '' ? request.caller : 'anonymous',
    tally: request.upstreamTally ?? (request.upstreamTally = startTally())
  }
}

/** What a provider's routes say about each endpoint beyond the endpoint table. */
export interface RouteParams {
  params: TObject
  querystring: TObject
  exampleId: string
  /** A rule across parameters that a schema cannot say. */
  preHandler?: preHandlerAsyncHookHandler
}

/** A route plugin serving each endpoint of a provider's table. */
export function reportRoutes (endpoints: AnyEndpoint[], paramsByKey: Record<string, RouteParams>): FastifyPluginAsync {
  return async (fastify) => {
    for (const endpoint of endpoints) {
      const { params, querystring, exampleId, preHandler } = paramsByKey[endpoint.key]
      fastify.get(endpoint.route, { schema: reportRouteSchema(endpoint, params, querystring, exampleId), preHandler }, async (request, reply) => {
        const id = (request.params as Record<string, string>)[endpoint.subject.param]
        const answer = await fastify.usage.report(endpoint, id, request.query as Record<string, string | number>, {
          forceRefresh: wantsFreshCopy(request),
          context: callContextOf(request)
        })
        return reply.sendReport(answer)
      })
    }
  }
}
