/**
 * What every report route shares: its OpenAPI description (responses,
 * errors, examples) and its handler: validate (by schema), ask the usage
 * service, reply with caching headers.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { reportToCsv } from '../src/csv.js'
import type { ReportEndpoint } from '../src/endpoint.js'
import { ERRORS, gatewayError, InvalidParameterError, type CatalogEntry } from '../src/errors.js'
import { closestName, problemType } from '../src/problem.js'
import { totalsOf, unitsOf, type UsageReport } from '../src/report.js'
import { startTally, type CallContext } from '../src/upstream-timing.js'
import { gatewayPath } from '../src/usage-service.js'

/** The report routes' error responses, from the error catalog: per status, each code that can occur and what it means. */
function problemResponses (): Record<number, unknown> {
  const byStatus = new Map<number, Array<[string, CatalogEntry]>>()
  for (const [code, entry] of Object.entries(ERRORS) as Array<[string, CatalogEntry]>) {
    if (entry.reportRoutes === true) byStatus.set(entry.status, [...byStatus.get(entry.status) ?? [], [code, entry]])
  }
  return Object.fromEntries([...byStatus].map(([status, entries]) => {
    const [code, { title, example }] = entries.find(([, entry]) => entry.example !== undefined) ?? entries[0]
    return [status, {
      description: entries.map(([code, entry]) => `\`${code}\`: ${entry.description}`).join(' '),
      content: {
        'application/problem+json': {
          schema: Type.Ref('Problem'),
          example: { type: problemType(code), title, status, detail: example ?? title, code, requestId: 'req-1', instance: '/usage/...' }
        }
      }
    }]
  }))
}

const PROBLEMS = problemResponses()

/** A plausible report for the spec's examples, built from the endpoint's own metric table. */
export function exampleReport (endpoint: ReportEndpoint, subjectId: string): UsageReport {
  const metrics = Object.fromEntries(endpoint.metrics.map((def, index) => [def.name, def.unit === 'count' ? 3 + index * 2 : 0.05 * (index + 1)]))
  // Reports over days (a range, a month, today) have a point per day; the others, one over their period.
  const data = [{ start: '2024-01-10', end: endpoint.cache.rangeOf !== undefined ? '2024-01-10' : '2025-01-10', dimensions: {}, metrics }]
  const additive = new Map(endpoint.metrics.map((def) => [def.name, def.additive]))
  return {
    provider: endpoint.provider,
    report: endpoint.report,
    subject: { type: endpoint.subject.type, id: subjectId },
    units: unitsOf(endpoint.metrics, 'USD'),
    data,
    totals: totalsOf(data, (name) => additive.get(name) ?? false, endpoint.provider),
    paging: { total: 1, limit: endpoint.paged ? 50 : null, next: endpoint.paged ? gatewayPath(endpoint, subjectId, { cursor: 'BQ.TGQPUQ' }) : null }
  }
}

function freshness ({ cache }: ReportEndpoint): string {
  if (cache.daily === true) {
    return `Cached per day, not per range: a settled day (two or more days past) for ${cache.settledTtlSeconds ?? cache.ttlSeconds} s, recent days for ${cache.ttlSeconds} s, unless CACHE_TTL_SECONDS says otherwise; only days missing from the cache cost an upstream call.`
  }
  if (cache.settledTtlSeconds !== undefined) {
    return `Answers from the cache when it can (\`X-Cache\`): a past month for ${cache.settledTtlSeconds} s, the current one for ${cache.ttlSeconds} s, unless CACHE_TTL_SECONDS says otherwise.`
  }
  return `Answers from the cache when it can (\`X-Cache\`), fresh for ${cache.ttlSeconds} s unless CACHE_TTL_SECONDS says otherwise.`
}

/** The route's OpenAPI description beyond its parameters: responses, errors, examples. */
function reportRouteDocs (endpoint: ReportEndpoint): Record<string, unknown> {
  const { exampleId } = endpoint
  return {
    tags: [endpoint.provider],
    summary: endpoint.summary,
    description: `Upstream: \`GET ${endpoint.upstreamPath}\`. ${freshness(endpoint)} Send \`Cache-Control: no-cache\` to force a refresh, \`If-None-Match\` to revalidate.`,
    operationId: endpoint.key.replace(/\.(\w)/g, (_, letter: string) => letter.toUpperCase()),
    security: [{ apiKey: [] }, { bearer: [] }],
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

/** The methods a report route answers; any other is a 405 that says so. */
export const ALLOWED_METHODS = 'GET, HEAD'
const OTHER_METHODS = ['DELETE', 'OPTIONS', 'PATCH', 'POST', 'PUT']

/**
 * Before the schema speaks: a parameter given twice, or one the route does not
 * have (with the closest name it does have), is named as such, so a typo is
 * not reported as the parameter it meant being missing. Then the row's lenient
 * spellings (`month=1`) are put in the schema's form.
 */
function queryChecker (endpoint: ReportEndpoint): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  const known = Object.keys(endpoint.querystring.properties)
  // Callback style: a hook on every request, without a promise.
  return (request, _reply, done) => {
    const query = request.query as Record<string, unknown>
    for (const name in query) {
      const value = query[name]
      if (!known.includes(name)) {
        const near = closestName(name, known)
        const hint = near === undefined ? known.length === 0 ? ' (it takes none)' : ` (it has ${known.map((k) => `'${k}'`).join(', ')})` : ` (did you mean '${near}'?)`
        done(new InvalidParameterError(name, `The query parameter '${name}' is not a parameter of this route${hint}.`))
        return
      }
      if (Array.isArray(value)) {
        done(new InvalidParameterError(name, `The query parameter '${name}' was given ${value.length} times; give it once.`))
        return
      }
    }
    try {
      endpoint.normalize?.(query)
    } catch (error) {
      done(error as Error)
      return
    }
    done()
  }
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

async function methodNotAllowed (request: FastifyRequest, reply: FastifyReply): Promise<never> {
  reply.header('allow', ALLOWED_METHODS)
  throw gatewayError('method_not_allowed', `${request.method} is not allowed here; report routes answer ${ALLOWED_METHODS}.`)
}

/** A route plugin serving each endpoint row (of every provider of the registry). */
export function reportRoutes (endpoints: readonly ReportEndpoint[]): FastifyPluginAsync {
  return async (fastify) => {
    const typed = fastify.withTypeProvider<TypeBoxTypeProvider>()
    for (const endpoint of endpoints) {
      const schema = { ...reportRouteDocs(endpoint), params: endpoint.params, querystring: endpoint.querystring }
      const preValidation = queryChecker(endpoint)
      // HEAD comes with every GET (Fastify's exposeHeadRoutes); a trailing slash is the same route, unlisted in the spec.
      for (const url of [endpoint.route, `${endpoint.route}/`]) {
        typed.get(url, { schema: { ...schema, hide: url !== endpoint.route }, preValidation }, async (request, reply) => {
          endpoint.check?.(request.query, fastify.usage.now())
          const id = String(request.params[endpoint.subject.param])
          const answer = await fastify.usage.report(endpoint, id, request.query, {
            forceRefresh: wantsFreshCopy(request),
            context: callContextOf(request)
          })
          return reply.sendReport(answer)
        })
        fastify.route({ method: OTHER_METHODS, url, schema: { hide: true }, handler: methodNotAllowed })
      }
    }
  }
}
