/**
 * What every report route shares: its OpenAPI description (responses,
 * errors, examples) and its handler: validate (by schema), ask the usage
 * service, reply with caching headers.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { forgetRememberedRequests } from '../plugins/remembered-requests.js'
import { wantsFreshCopy } from '../plugins/report-reply.js'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type TObject } from 'typebox'
import { etagOf } from '../src/cache/report-cache.js'
import type { CacheAnswer } from '../src/cache/types.js'
import { reportToCsv } from '../src/csv.js'
import { DEFAULT_ACCOUNT } from '../src/accounts/accounts-file.js'
import { Grants } from '../src/accounts/grants.js'
import { directoryToCsv, withAccountParam, withLabelsParam, type DirectoryAnswer } from '../src/directory.js'
import type { DirectoryEndpoint, EndpointRow, QueryValues, ReportEndpoint } from '../src/endpoint.js'
import { ERRORS, gatewayError, InvalidParameterError, NotFoundError, ReportTooLargeError, type CatalogEntry } from '../src/errors.js'
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

/** The account the examples name: the environment's credentials. */
const EXAMPLE_ACCOUNT = DEFAULT_ACCOUNT

/** A plausible report for the spec's examples, built from the endpoint's own metric table. */
export function exampleReport (endpoint: ReportEndpoint, subjectId: string): UsageReport {
  const metrics = Object.fromEntries(endpoint.metrics.map((def, index) => [def.name, def.unit === 'count' ? 3 + index * 2 : 0.05 * (index + 1)]))
  // Reports over days (a range, a month, today) have a point per day; the others, one over their period.
  const end = endpoint.cache.rangeOf !== undefined ? '2024-01-10' : '2025-01-10'
  // A fan-out's points say whose they are.
  const dimensions: Record<string, string> = endpoint.fanOut === undefined ? {} : { [endpoint.fanOut.dimension]: subjectId, account: EXAMPLE_ACCOUNT }
  const data = [{ start: '2024-01-10', end, dimensions, metrics }]
  const additive = new Map(endpoint.metrics.map((def) => [def.name, def.additive]))
  return {
    provider: endpoint.provider,
    report: endpoint.report,
    account: EXAMPLE_ACCOUNT,
    subject: { type: endpoint.subject.type, id: endpoint.fanOut === undefined || endpoint.subject.param !== '' ? subjectId : endpoint.provider },
    units: unitsOf(endpoint.metrics, 'USD'),
    data,
    totals: totalsOf(data, (name) => additive.get(name) ?? false, endpoint.provider),
    paging: { total: 1, limit: endpoint.paged ? 50 : null, next: endpoint.paged ? gatewayPath(endpoint, subjectId, { cursor: 'BQ.TGQPUQ' }) : null },
    // A fan-out's example shows a partial answer: one subject left out, and why.
    ...(endpoint.fanOut === undefined
      ? {}
      : {
          incomplete: [{
            subject: { type: endpoint.fanOut.over.subject.type, id: `another-${endpoint.fanOut.over.subject.type}` },
            status: 429,
            code: 'upstream_rate_limited',
            detail: `${endpoint.provider} call budget of this credential is spent (the gateway never exceeds the upstream's limit); retry after 42 s.`,
            retryAfter: 42
          }]
        })
  }
}

/** A plausible directory for the spec's examples, from its row's example item. */
export function exampleDirectory (endpoint: DirectoryEndpoint): DirectoryAnswer {
  return {
    provider: endpoint.provider,
    directory: endpoint.directory,
    subject: endpoint.subject === null ? null : { type: endpoint.subject.type, id: endpoint.exampleId },
    account: EXAMPLE_ACCOUNT,
    items: [{ ...endpoint.exampleItem, account: EXAMPLE_ACCOUNT }],
    paging: { total: 1, limit: endpoint.paged ? 50 : null, next: null }
  }
}

/** The example report as `labels=true` answers it: its subject named as the provider's directory names it. */
function labelledExample (report: UsageReport, directories: readonly DirectoryEndpoint[]): UsageReport {
  const item = directories.find((row) => row.provider === report.provider && row.itemType === report.subject.type)?.exampleItem
  const name = item?.name ?? null
  return { ...report, labels: { [report.subject.type]: { [report.subject.id]: { name } } }, labelsIncomplete: false }
}

function freshness (row: EndpointRow): string {
  const { cache } = row
  const fanOut = 'fanOut' in row ? row.fanOut : undefined
  if (fanOut !== undefined) {
    return `Not cached whole: each ${fanOut.over.subject.type}'s part comes from its own report's cache (\`${fanOut.over.route.replace(/:(\w+)/g, '{$1}')}\`), at most ${fanOut.concurrency} fetched at once, so a retry asks the upstream only for what is missing. \`X-Cache\` is \`HIT\` only when every part was. When some ${fanOut.over.subject.type}s fail, the answer is still 200, with the others and \`incomplete\` (and \`X-Incomplete: <count>\`); \`strict=true\` makes any failure the answer, as does every ${fanOut.over.subject.type} failing (the first failure's problem).`
  }
  if (cache.daily === true) {
    return `Cached per day, not per range: a settled day (two or more days past) for ${cache.settledTtlSeconds ?? cache.ttlSeconds} s, recent days for ${cache.ttlSeconds} s, unless CACHE_TTL_SECONDS says otherwise; only days missing from the cache cost an upstream call.`
  }
  if (cache.settledTtlSeconds !== undefined) {
    return `Answers from the cache when it can (\`X-Cache\`): a past month for ${cache.settledTtlSeconds} s, the current one for ${cache.ttlSeconds} s, unless CACHE_TTL_SECONDS says otherwise.`
  }
  return `Answers from the cache when it can (\`X-Cache\`), fresh for ${cache.ttlSeconds} s unless CACHE_TTL_SECONDS says otherwise.`
}

/** The route's OpenAPI description beyond its parameters: responses, errors, examples. */
function reportRouteDocs (endpoint: ReportEndpoint, directories: readonly DirectoryEndpoint[]): Record<string, unknown> {
  const { exampleId } = endpoint
  const example = exampleReport(endpoint, exampleId)
  return routeDocs(endpoint, {
    description: 'The normalized report.',
    schema: 'UsageReport',
    examples: {
      report: { summary: 'The report', value: example },
      labelled: { summary: 'With labels=true: names beside ids', value: labelledExample(example, directories) }
    },
    csv: 'With `Accept: text/csv`: one row per point (start, end, each dimension and, with `labels=true`, its label columns, each metric) under a header row.',
    csvExample: reportToCsv(example)
  })
}

/** A directory route's OpenAPI description beyond its parameters. */
function directoryRouteDocs (endpoint: DirectoryEndpoint): Record<string, unknown> {
  const example = exampleDirectory(endpoint)
  return routeDocs(endpoint, {
    description: `The ${endpoint.directory} directory.`,
    schema: 'Directory',
    examples: { directory: { summary: `The ${endpoint.directory}`, value: example } },
    csv: 'With `Accept: text/csv`: one row per item (`id`, `name`, then each attribute) under a header row.',
    csvExample: directoryToCsv(example)
  })
}

interface AnswerDocs { description: string, schema: string, examples: Record<string, { summary: string, value: unknown }>, csv: string, csvExample: string }

function routeDocs (endpoint: EndpointRow, answer: AnswerDocs): Record<string, unknown> {
  return {
    tags: [endpoint.provider],
    summary: endpoint.summary,
    description: `Upstream: \`GET ${endpoint.upstreamPath}\`. ${freshness(endpoint)} Send \`Cache-Control: no-cache\` to force a refresh, \`If-None-Match\` to revalidate.`,
    operationId: endpoint.key.replace(/\.(\w)/g, (_, letter: string) => letter.toUpperCase()),
    security: [{ apiKey: [] }, { bearer: [] }],
    response: {
      200: {
        description: answer.description,
        headers: {
          'x-cache': { type: 'string', enum: ['HIT', 'MISS', 'STALE'], description: 'Whether the cache answered.' },
          etag: { type: 'string', description: 'Strong validator of the body.' },
          age: { type: 'integer', description: 'Seconds since the report was fetched upstream.' },
          'cache-control': { type: 'string', description: '`private, max-age=N`: N seconds of freshness left.' },
          ...(endpoint.fanOut === undefined ? {} : { 'x-incomplete': { type: 'integer', description: 'How many subjects `incomplete` lists (absent when none).' } })
        },
        content: {
          'application/json': { schema: Type.Ref(answer.schema), examples: answer.examples },
          'text/csv': { schema: Type.String({ description: answer.csv }), example: answer.csvExample }
        }
      },
      304: { description: 'Not modified: the `If-None-Match` tag is current.', type: 'null' },
      ...PROBLEMS
    }
  }
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
function queryChecker (endpoint: EndpointRow, querystring: TObject): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  const known = Object.keys(querystring.properties)
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
    tally: request.upstreamTally ?? (request.upstreamTally = startTally()),
    grants: request.grants ?? Grants.everything
  }
}

async function methodNotAllowed (request: FastifyRequest, reply: FastifyReply): Promise<never> {
  reply.header('allow', ALLOWED_METHODS)
  throw gatewayError('method_not_allowed', `${request.method} is not allowed here; report routes answer ${ALLOWED_METHODS}.`)
}

/**
 * With `labels=true`: the cached report with the names beside its ids. Its
 * cache headers are the report's; its ETag is its own. `paging.next` keeps `labels=true`.
 */
async function labelled (fastify: FastifyInstance, answer: CacheAnswer, context: CallContext): Promise<CacheAnswer> {
  const report = JSON.parse(answer.entry.body) as UsageReport
  const { labels, incomplete } = await fastify.usage.labelsOf(report, context)
  const next = report.paging.next === null ? null : `${report.paging.next}${report.paging.next.includes('?') ? '&' : '?'}labels=true`
  const body = JSON.stringify({ ...report, paging: { ...report.paging, next }, labels, labelsIncomplete: incomplete } satisfies UsageReport)
  return { ...answer, entry: { ...answer.entry, body, etag: etagOf(body) } }
}

/**
 * A route plugin serving each row of the tables (of every provider of the
 * registry): report rows, with `labels`, and directory rows.
 */
export function reportRoutes (endpoints: readonly ReportEndpoint[], directories: readonly DirectoryEndpoint[] = []): FastifyPluginAsync {
  return async (fastify) => {
    const typed = fastify.withTypeProvider<TypeBoxTypeProvider>()
    /** Registers a row's route (and its trailing-slash twin and 405s) with its schema and handler. */
    const serve = (row: EndpointRow, docs: Record<string, unknown>, querystring: TObject, answer: (id: string, query: Record<string, unknown>, request: FastifyRequest) => Promise<{ answer: CacheAnswer, csv?: (body: string) => string }>): void => {
      const schema = { ...docs, params: row.params, querystring }
      const preValidation = queryChecker(row, querystring)
      // HEAD comes with every GET (Fastify's exposeHeadRoutes); a trailing slash is the same route, unlisted in the spec.
      for (const url of [row.route, `${row.route}/`]) {
        typed.get(url, { schema: { ...schema, hide: url !== row.route }, preValidation }, async (request, reply) => {
          const query = request.query as Record<string, unknown>
          row.check?.(query, fastify.usage.now())
          const id = row.subject === null ? '' : String((request.params as Record<string, unknown>)[row.subject.param])
          let answered: Awaited<ReturnType<typeof answer>>
          try {
            answered = await answer(id, query, request)
          } catch (error) {
            // The usage service remembers what an upstream refused (a 404) and answers it before its cache:
            // remembered requests take the full path again, so they answer the same.
            if (error instanceof NotFoundError || error instanceof ReportTooLargeError) forgetRememberedRequests()
            throw error
          }
          const { answer: cached, csv } = answered
          if ((cached.incomplete ?? 0) > 0) reply.header('x-incomplete', String(cached.incomplete))
          fastify.rememberRequest(request, cached, csv)
          return reply.sendReport(cached, csv)
        })
        fastify.route({ method: OTHER_METHODS, url, schema: { hide: true }, handler: methodNotAllowed })
      }
    }
    for (const endpoint of endpoints) {
      serve(endpoint, reportRouteDocs(endpoint, directories), withLabelsParam(endpoint.querystring), async (id, { labels, account, ...query }, request) => {
        const context = callContextOf(request)
        // A fan-out's subject is its provider; the subjects it covers are in its query.
        const subject = endpoint.fanOut === undefined || endpoint.subject.param !== '' ? id : endpoint.provider
        const asked = { forceRefresh: wantsFreshCopy(request.headers), context, account: account as string | undefined }
        const answer = await fastify.usage.report(endpoint, subject, query as QueryValues, asked)
        return { answer: labels === true ? await labelled(fastify, answer, context) : answer }
      })
    }
    for (const directory of directories) {
      serve(directory, directoryRouteDocs(directory), withAccountParam(directory.querystring), async (id, { account, ...query }, request) => ({
        answer: await fastify.usage.directoryAnswer(directory, id, query, { forceRefresh: wantsFreshCopy(request.headers), context: callContextOf(request), account: account as string | undefined }),
        csv: (body) => directoryToCsv(JSON.parse(body) as DirectoryAnswer)
      }))
    }
  }
}
