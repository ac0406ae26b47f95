/**
 * The error catalog and the typed domain errors. Every `code` the gateway can
 * answer is defined once here, with its status, title and meaning (as Fastify
 * keeps lib/errors.js); error classes, the framework tables and the OpenAPI
 * error responses all read it. The error-handler plugin turns each error into
 * an RFC 9457 problem. Nothing else builds an error body.
 */

export interface CatalogEntry {
  status: number
  title: string
  /** One line: when the gateway answers it (the OpenAPI error responses say it). */
  description: string
  /** Documented among the report routes' error responses. */
  reportRoutes?: true
  /** The example detail of the status's documented response (one code per status has one). */
  example?: string
}

export const ERRORS = {
  invalid_parameter: {
    status: 400,
    title: 'Invalid parameter',
    description: 'A parameter is invalid; `parameter` names it.',
    reportRoutes: true,
    example: "The query parameter 'limit' must be at most 200."
  },
  too_many_pages: { status: 400, title: 'Too many pages', description: '`all=true` would follow more than MAX_PAGES upstream pages.', reportRoutes: true },
  upstream_bad_request: { status: 400, title: 'Rejected by the upstream', description: 'The upstream rejected the request (`parameter` names what it blamed, when it said).', reportRoutes: true },
  body_not_allowed: { status: 400, title: 'Body not allowed', description: 'The request has a body; every route is a GET.', reportRoutes: true },
  bad_request: { status: 400, title: 'Bad request', description: 'The request could not be read (malformed HTTP or URL).' },
  unauthorized: {
    status: 401,
    title: 'Unauthorized',
    description: 'No valid gateway API key (only when the gateway has keys).',
    reportRoutes: true,
    example: 'The API key is not valid for this gateway.'
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description: "`account=` names a provider account this API key may not use (a subject outside the key's scopes is a 404, like one that does not exist).",
    reportRoutes: true,
    example: "This API key may not use the apple account 'brand-b'."
  },
  not_found: {
    status: 404,
    title: 'Not found',
    description: 'The upstream has no such subject (or the credential cannot see it), or no route has this path.',
    reportRoutes: true,
    example: "apple has no build 'ace4f47a-0000' (or this API key cannot see it)."
  },
  unknown_app: { status: 404, title: 'Unknown app', description: 'No credential is configured (or can be had) for this app.', reportRoutes: true },
  method_not_allowed: { status: 405, title: 'Method not allowed', description: 'The route exists for another method.' },
  not_acceptable: { status: 406, title: 'Not acceptable', description: 'No representation the `Accept` header allows.' },
  request_timeout: { status: 408, title: 'Request Timeout', description: 'The request was not received in time.' },
  payload_too_large: { status: 413, title: 'Payload too large', description: 'The request body exceeds the limit.' },
  uri_too_long: { status: 414, title: 'URI too long', description: 'The request URL is too long.' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type', description: 'The request body has a media type the gateway does not read.' },
  upstream_rate_limited: {
    status: 429,
    title: 'Upstream rate limit reached',
    description: 'The upstream budget is spent (or a 429 back-off holds) and nothing stale is cached; `Retry-After` says when to retry.',
    reportRoutes: true,
    example: 'gupshup call budget of this credential is spent (the gateway never exceeds the upstream\'s limit); retry after 42 s.'
  },
  rate_limited: { status: 429, title: 'Too many requests', description: "This caller's inbound limit is reached; `Retry-After` says when to retry.", reportRoutes: true },
  caller_upstream_share: {
    status: 429,
    title: 'Caller upstream share spent',
    description: 'This caller has spent its share (UPSTREAM_SHARE_PER_CALLER) of a contended upstream budget; cached reports still answer; `Retry-After` says when to retry.',
    reportRoutes: true
  },
  auth_throttled: { status: 429, title: 'Too many failed key checks', description: 'Too many requests from this address had no valid API key; `Retry-After` says when to retry.', reportRoutes: true },
  headers_too_large: { status: 431, title: 'Request Header Fields Too Large', description: 'The request headers are too large.' },
  internal_error: { status: 500, title: 'Internal error', description: 'The gateway failed unexpectedly; the request id identifies the failure in its logs.' },
  upstream_error: {
    status: 502,
    title: 'Upstream error',
    description: 'The upstream failed (5xx, a network error, an unexpected status).',
    reportRoutes: true,
    example: 'apple answered 503: Service Unavailable'
  },
  upstream_invalid_response: { status: 502, title: 'Invalid upstream response', description: 'The upstream sent a body the gateway cannot read.', reportRoutes: true },
  report_too_large: { status: 502, title: 'Report too large', description: 'The upstream report is larger than the cache bound (CACHE_MAX_BYTES); ask for less.', reportRoutes: true },
  upstream_unauthorized: { status: 502, title: 'Upstream refused the gateway credentials', description: "The upstream refused the gateway's own credentials: an operator must act.", reportRoutes: true },
  provider_not_configured: {
    status: 503,
    title: 'Provider not configured',
    description: 'The gateway has no credentials for this provider.',
    reportRoutes: true,
    example: 'This gateway has no credentials for apple; see the configuration section of the README.'
  },
  upstream_busy: { status: 503, title: 'Upstream busy', description: 'Too many calls already wait for the upstream (APPLE_MAX_PENDING); `Retry-After` says when to retry.', reportRoutes: true },
  shutting_down: { status: 503, title: 'Shutting down', description: 'This instance is shutting down; retry, and another replica will answer.' },
  upstream_timeout: {
    status: 504,
    title: 'Upstream timeout',
    description: 'The upstream did not answer within UPSTREAM_TIMEOUT_MS.',
    reportRoutes: true,
    example: 'gupshup did not answer within 10000 ms.'
  }
} as const satisfies Record<string, CatalogEntry>

export type ErrorCode = keyof typeof ERRORS

export interface ProblemFields {
  /** HTTP status the problem is answered with. */
  status: number
  /** Stable, machine-readable snake_case code. */
  code: string
  title: string
  detail: string
  /** The request parameter at fault, when one is. */
  parameter?: string
  /** Seconds after which a retry may succeed (sets `Retry-After`). */
  retryAfterSeconds?: number
  /** The upstream involved (a name from the provider registry). */
  provider?: string
}

/** A catalog code's status and title, with this occurrence's detail and context. */
export function problemFields (code: ErrorCode, detail: string, extra: Omit<ProblemFields, 'status' | 'code' | 'title' | 'detail'> = {}): ProblemFields {
  const { status, title } = ERRORS[code]
  return { status, code, title, detail, ...extra }
}

export class GatewayError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string
  readonly parameter?: string
  readonly retryAfterSeconds?: number
  readonly provider?: string

  constructor (fields: ProblemFields, options?: { cause?: unknown }) {
    super(fields.detail, options)
    this.name = new.target.name
    this.status = fields.status
    this.code = fields.code
    this.title = fields.title
    this.detail = fields.detail
    this.parameter = fields.parameter
    this.retryAfterSeconds = fields.retryAfterSeconds
    this.provider = fields.provider
  }
}

/** A catalog error with no class of its own (body refusal, inbound limit, framework errors). */
export function gatewayError (code: ErrorCode, detail: string, extra?: Omit<ProblemFields, 'status' | 'code' | 'title' | 'detail'>): GatewayError {
  return new GatewayError(problemFields(code, detail, extra))
}

export class InvalidParameterError extends GatewayError {
  constructor (parameter: string, detail: string) {
    super(problemFields('invalid_parameter', detail, { parameter }))
  }
}

export class TooManyPagesError extends GatewayError {
  constructor (pages: number, maxPages: number) {
    super(problemFields('too_many_pages',
      `all=true would follow ${pages} upstream pages; this gateway follows at most ${maxPages}. Raise 'limit' (up to 200), or page with 'cursor'.`,
      { parameter: 'all' }))
  }
}

export class UnauthorizedError extends GatewayError {
  constructor (detail: string) {
    super(problemFields('unauthorized', detail))
  }
}

export class NotFoundError extends GatewayError {
  constructor (detail: string, provider?: string) {
    super(problemFields('not_found', detail, { provider }))
  }
}

/** A subject the provider has no credential for: answered before any upstream call. */
export class UnknownAppError extends GatewayError {
  constructor (provider: string, detail: string, parameter: string) {
    super(problemFields('unknown_app', detail, { parameter, provider }))
  }
}

export class ProviderNotConfiguredError extends GatewayError {
  constructor (provider: string) {
    super(problemFields('provider_not_configured',
      `This gateway has no credentials for ${provider}; see the configuration section of the README.`, { provider }))
  }
}

/** The upstream answered 400: the caller asked for something the upstream rejects. */
export class UpstreamBadRequestError extends GatewayError {
  constructor (provider: string, detail: string, parameter?: string) {
    super(problemFields('upstream_bad_request', detail, { parameter, provider }))
  }
}

/** The upstream failed: 5xx, a network error, an unexpected status. */
export class UpstreamError extends GatewayError {
  constructor (provider: string, detail: string, options?: { cause?: unknown }) {
    super(problemFields('upstream_error', detail, { provider }), options)
  }
}

/** The upstream refused the gateway's own credentials (401/403): an operator must act. */
export class UpstreamAuthError extends GatewayError {
  constructor (provider: string, detail: string) {
    super(problemFields('upstream_unauthorized', detail, { provider }))
  }
}

export class UpstreamInvalidResponseError extends GatewayError {
  constructor (provider: string, detail: string) {
    super(problemFields('upstream_invalid_response', detail, { provider }))
  }
}

export class UpstreamTimeoutError extends GatewayError {
  constructor (provider: string, timeoutMs: number) {
    super(problemFields('upstream_timeout', `${provider} did not answer within ${timeoutMs} ms.`, { provider }))
  }
}

export class UpstreamRateLimitedError extends GatewayError {
  constructor (provider: string, retryAfterSeconds: number, detail?: string) {
    super(problemFields('upstream_rate_limited',
      detail ?? `${provider} is rate limiting this gateway; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds, provider }))
  }
}

/** This caller has spent its share of an upstream credential's budget window while others want it too. */
export class CallerShareError extends GatewayError {
  constructor (provider: string, retryAfterSeconds: number, share: number) {
    super(problemFields('caller_upstream_share',
      `This caller has spent its share (${Math.round(share * 100)}%) of the ${provider} budget that other callers share; cached reports still answer. Retry after ${retryAfterSeconds} s.`,
      { retryAfterSeconds, provider }))
  }
}

/** Too many calls already wait for the upstream's connections: refused at once rather than queued. */
export class UpstreamBusyError extends GatewayError {
  constructor (provider: string, retryAfterSeconds: number, why: string) {
    super(problemFields('upstream_busy', `${provider} ${why}; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds, provider }))
  }
}

/** A report that cannot be cached (larger than the cache bound), refused rather than fetched on every request. */
export class ReportTooLargeError extends GatewayError {
  constructor (provider: string, bytes: number, maxBytes: number) {
    super(problemFields('report_too_large',
      `The ${provider} report is ${bytes} bytes, more than this gateway caches (${maxBytes}); ask for less (a smaller 'limit' or range) or raise CACHE_MAX_BYTES.`,
      { provider }))
  }
}

/** Too many failed key checks from one client address in a row. */
export class AuthThrottledError extends GatewayError {
  constructor (retryAfterSeconds: number) {
    super(problemFields('auth_throttled', `Too many requests from this address had no valid API key; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds }))
  }
}
