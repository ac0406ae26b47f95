/**
 * RFC 9457 problem details: the one body every error is answered with.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { ERRORS, GatewayError, gatewayError, InvalidParameterError, type ErrorCode } from './errors.js'
import { PATTERN_WORDS } from './patterns.js'
import { providerNameSchema } from './report.js'

const problemSchemaOf = <P extends TSchema>(provider: P) => Type.Object({
  type: Type.String({ description: 'URI naming the kind of problem: `urn:usage-gateway:problem:<code>`.' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'Stable machine-readable code, such as `invalid_parameter` or `upstream_timeout`.' }),
  requestId: Type.String({ description: 'Identifies the request in the gateway logs; send it with any bug report.' }),
  instance: Type.String({ description: 'The path that was requested.' }),
  parameter: Type.Optional(Type.String({ description: 'The request parameter at fault.' })),
  provider: Type.Optional(provider)
}, { $id: 'Problem', title: 'Problem' })

/** The problem schema, with `provider` one of the registry's names. */
export const problemSchema = (providerNames: readonly string[]): TSchema =>
  problemSchemaOf(providerNameSchema(providerNames, { description: 'The upstream involved.' }))

export type Problem = Static<ReturnType<typeof problemSchemaOf<ReturnType<typeof Type.String>>>>

export const problemType = (code: string): string => `urn:usage-gateway:problem:${code}`

/** What the framework's errors carry (Fastify's FastifyError, read structurally: the domain does not import Fastify). */
interface FrameworkError {
  statusCode?: number
  message?: string
  validation?: unknown
  validationContext?: string
}

interface AjvIssue {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
}

const PLACES: Record<string, string> = { querystring: 'query parameter', params: 'path parameter', headers: 'header', body: 'body field' }

function describe (issue: AjvIssue): string {
  const p = issue.params
  switch (issue.keyword) {
    case 'required': return 'is required'
    case 'additionalProperties': return 'is not a parameter of this route'
    case 'enum': return `must be one of ${(p.allowedValues as unknown[]).join(', ')}`
    case 'pattern': return PATTERN_WORDS[p.pattern as string] ?? `must match ${String(p.pattern)}`
    case 'format': return p.format === 'date' ? 'must be a real calendar date in YYYY-MM-DD form' : `must be a valid ${String(p.format)}`
    case 'type': return `must be ${p.type === 'integer' ? 'a whole number' : `a single ${String(p.type)}`}`
    case 'minimum': return `must be at least ${String(p.limit)}`
    case 'maximum': return `must be at most ${String(p.limit)}`
    default: return issue.message ?? 'is invalid'
  }
}

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
function editDistance (a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The known name a typo most likely meant: case aside, at most two edits away (one for short names). */
export function closestName (name: string, known: string[]): string | undefined {
  const typed = name.toLowerCase()
  const scored = known.map((candidate) => ({ candidate, distance: editDistance(typed, candidate.toLowerCase()) }))
    .filter(({ candidate, distance }) => distance <= (Math.min(candidate.length, typed.length) <= 3 ? 1 : 2))
    .sort((a, b) => a.distance - b.distance)
  return scored[0]?.candidate
}

/** A schema validation failure → invalid_parameter naming the parameter. */
export function validationProblem (error: FrameworkError): InvalidParameterError {
  const issue = (error.validation as AjvIssue[])[0]
  const p = issue.params
  const name = (p.missingProperty ?? p.additionalProperty ?? issue.instancePath.replace(/^\//, '').replace(/\//g, '.')) as string
  const place = PLACES[error.validationContext ?? ''] ?? 'parameter'
  return new InvalidParameterError(name, `The ${place} '${name}' ${describe(issue)}.`)
}

/** The statuses Fastify answers itself, as the catalog's codes. */
const FRAMEWORK_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited'
}

/** Any error → the gateway error it is answered as. Unknown errors become a bare 500. */
export function gatewayErrorOf (error: unknown): GatewayError {
  if (error instanceof GatewayError) return error
  const fastifyError = error as Partial<FrameworkError>
  if (Array.isArray(fastifyError.validation)) return validationProblem(error as FrameworkError)
  const known = FRAMEWORK_CODES[fastifyError.statusCode ?? 500]
  if (known !== undefined) return gatewayError(known, fastifyError.message ?? ERRORS[known].title)
  return gatewayError('internal_error', ERRORS.internal_error.description)
}

export function problemOf (error: GatewayError, requestId: string, instance: string): Problem {
  return {
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
    instance,
    ...(error.parameter === undefined ? {} : { parameter: error.parameter }),
    ...(error.provider === undefined ? {} : { provider: error.provider })
  }
}
