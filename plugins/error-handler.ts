/**
 * One error handler: every error, from validation to upstream faults,
 * leaves as application/problem+json. Routes never build error bodies.
 */
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError, NotFoundError } from '../src/errors.js'
import { gatewayErrorOf, problemOf } from '../src/problem.js'
import { closeConnectionIfShuttingDown } from './graceful-close.js'

/** The two ways to send a gateway key: `X-API-Key` (an API key scheme) and a bearer token. */
export const WWW_AUTHENTICATE = 'ApiKey realm="usage-gateway", header="X-API-Key", Bearer realm="usage-gateway"'

const pathOf = (request: FastifyRequest): string => request.url.split('?')[0]

/** Answers `error` as a problem; also used for errors Fastify meets before routing (`frameworkErrors`). */
export function sendProblem (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // The docs' static files refuse a path outside their folder with a plain 403: to a caller, no such file.
  const refusedPath = !(error instanceof GatewayError) && (error as { statusCode?: number }).statusCode === 403
  const problem = refusedPath ? new NotFoundError(`No file ${pathOf(request)}.`) : gatewayErrorOf(error)
  if (problem.status >= 500 && !(error instanceof GatewayError)) {
    request.log.error({ err: error }, 'unexpected error')
  } else if (problem.status >= 500 || problem.code.startsWith('upstream_')) {
    // Typed errors carry no secrets; their cause (an undici error) is left out on purpose.
    request.log.warn({ code: problem.code, provider: problem.provider, detail: problem.detail }, 'upstream failure')
  }
  if (problem.retryAfterSeconds !== undefined) reply.header('retry-after', String(problem.retryAfterSeconds))
  // RFC 9110: a 401 names the schemes that would be accepted.
  if (problem.status === 401) reply.header('www-authenticate', WWW_AUTHENTICATE)
  closeConnectionIfShuttingDown(reply)
  return reply.code(problem.status).type('application/problem+json').send(problemOf(problem, request.id, pathOf(request)))
}

export default fp(async function errorHandler (fastify) {
  fastify.setErrorHandler(async (error, request, reply) => await sendProblem(error, request, reply))
  fastify.setNotFoundHandler(async (request, reply) =>
    await sendProblem(new NotFoundError(`No route ${request.method} ${pathOf(request)}; GET /docs/ lists the routes.`), request, reply))
}, { name: 'error-handler' })
