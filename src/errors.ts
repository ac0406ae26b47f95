/**
 * Typed domain errors. Every error the gateway answers with is one of these;
 * the error-handler plugin turns each into an RFC 9457 problem. Nothing else
 * builds an error body.
 */
export type ProviderName = 'apple' | 'gupshup'

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
  provider?: ProviderName
}

export class GatewayError extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string
  readonly parameter?: string
  readonly retryAfterSeconds?: number
  readonly provider?: ProviderName

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

export class InvalidParameterError extends GatewayError {
  constructor (parameter: string, detail: string) {
    super({ status: 400, code: 'invalid_parameter', title: 'Invalid parameter', detail, parameter })
  }
}

export class TooManyPagesError extends GatewayError {
  constructor (pages: number, maxPages: number) {
    super({
      status: 400,
      code: 'too_many_pages',
      title: 'Too many pages',
      detail: `all=true would follow ${pages} upstream pages; this gateway follows at most ${maxPages}. Raise 'limit' (up to 200), or page with 'cursor'.`,
      parameter: 'all'
    })
  }
}

export class UnauthorizedError extends GatewayError {
  constructor (detail: string) {
    super({ status: 401, code: 'unauthorized', title: 'Unauthorized', detail })
  }
}

export class NotFoundError extends GatewayError {
  constructor (detail: string, provider?: ProviderName) {
    super({ status: 404, code: 'not_found', title: 'Not found', detail, provider })
  }
}

export class UnknownAppError extends GatewayError {
  constructor (appId: string) {
    super({
      status: 404,
      code: 'unknown_app',
      title: 'Unknown app',
      detail: `No Gupshup app token is configured for app '${appId}'.`,
      parameter: 'appId',
      provider: 'gupshup'
    })
  }
}

export class ProviderNotConfiguredError extends GatewayError {
  constructor (provider: ProviderName) {
    super({
      status: 503,
      code: 'provider_not_configured',
      title: 'Provider not configured',
      detail: `This gateway has no credentials for ${provider}; see the configuration section of the README.`,
      provider
    })
  }
}

/** The upstream answered 400: the caller asked for something the upstream rejects. */
export class UpstreamBadRequestError extends GatewayError {
  constructor (provider: ProviderName, detail: string, parameter?: string) {
    super({ status: 400, code: 'upstream_bad_request', title: 'Rejected by the upstream', detail, parameter, provider })
  }
}

/** The upstream failed: 5xx, a network error, an unexpected status. */
export class UpstreamError extends GatewayError {
  constructor (provider: ProviderName, detail: string, options?: { cause?: unknown }) {
    super({ status: 502, code: 'upstream_error', title: 'Upstream error', detail, provider }, options)
  }
}

/** The upstream refused the gateway's own credentials (401/403): an operator must act. */
export class UpstreamAuthError extends GatewayError {
  constructor (provider: ProviderName, detail: string) {
    super({ status: 502, code: 'upstream_unauthorized', title: 'Upstream refused the gateway credentials', detail, provider })
  }
}

export class UpstreamInvalidResponseError extends GatewayError {
  constructor (provider: ProviderName, detail: string) {
    super({ status: 502, code: 'upstream_invalid_response', title: 'Invalid upstream response', detail, provider })
  }
}

export class UpstreamTimeoutError extends GatewayError {
  constructor (provider: ProviderName, timeoutMs: number) {
    super({
      status: 504,
      code: 'upstream_timeout',
      title: 'Upstream timeout',
      detail: `${provider} did not answer within ${timeoutMs} ms.`,
      provider
    })
  }
}

export class UpstreamRateLimitedError extends GatewayError {
  constructor (provider: ProviderName, retryAfterSeconds: number, detail?: string) {
    super({
      status: 429,
      code: 'upstream_rate_limited',
      title: 'Upstream rate limit reached',
      detail: detail ?? `${provider} is rate limiting this gateway; retry after ${retryAfterSeconds} s.`,
      retryAfterSeconds,
      provider
    })
  }
}

/** This caller has spent its share of an upstream credential's budget window while others want it too. */
export class CallerShareError extends GatewayError {
  constructor (provider: ProviderName, retryAfterSeconds: number, share: number) {
    super({
      status: 429,
      code: 'caller_upstream_share',
      title: 'Caller upstream share spent',
      detail: `This caller has spent its share (${Math.round(share * 100)}%) of the ${provider} budget that other callers share; cached reports still answer. Retry after ${retryAfterSeconds} s.`,
      retryAfterSeconds,
      provider
    })
  }
}

/** Too many calls already wait for the upstream's connections: refused at once rather than queued. */
export class UpstreamBusyError extends GatewayError {
  constructor (provider: ProviderName, retryAfterSeconds: number, why: string) {
    super({
      status: 503,
      code: 'upstream_busy',
      title: 'Upstream busy',
      detail: `${provider} ${why}; retry after ${retryAfterSeconds} s.`,
      retryAfterSeconds,
      provider
    })
  }
}

/** A report that cannot be cached (larger than the cache bound), refused rather than fetched on every request. */
export class ReportTooLargeError extends GatewayError {
  constructor (provider: ProviderName, bytes: number, maxBytes: number) {
    super({
      status: 502,
      code: 'report_too_large',
      title: 'Report too large',
      detail: `The ${provider} report is ${bytes} bytes, more than this gateway caches (${maxBytes}); ask for less (a smaller 'limit' or range) or raise CACHE_MAX_BYTES.`,
      provider
    })
  }
}

/** Too many failed key checks from one client address in a row. */
export class AuthThrottledError extends GatewayError {
  constructor (retryAfterSeconds: number) {
    super({
      status: 429,
      code: 'auth_throttled',
      title: 'Too many failed key checks',
      detail: `Too many requests from this address had no valid API key; retry after ${retryAfterSeconds} s.`,
      retryAfterSeconds
    })
  }
}
