/**
 * What an upstream's non-200 status means to the caller: one mapping for
 * both providers, so Apple and Gupshup failures read the same. (A 429 never
 * gets here: guardedGet answers it.)
 */
import {
  NotFoundError, UpstreamAuthError, UpstreamBadRequestError, UpstreamError,
  type GatewayError
} from '../errors.js'
import { safeDetail, type UpstreamResponse } from './http.js'

export interface StatusContext {
  /** The upstream's own error text, if any; passed on only after `safeDetail`. */
  message?: string
  /** The query parameter the upstream blamed, if it said. */
  parameter?: string
  /** What a 404 means for this request, in words. */
  notFound: string
  /** Whose credential a 401/403 refused, in words. */
  credential: string
}

export function statusError (provider: string, response: UpstreamResponse, context: StatusContext): GatewayError {
  const detail = safeDetail(context.message, `${provider} answered ${response.status}.`)
  switch (response.status) {
    case 400:
      return new UpstreamBadRequestError(provider, detail, context.parameter)
    case 401:
    case 403:
      return new UpstreamAuthError(provider, `${provider} refused ${context.credential} (${response.status}): ${detail}`)
    case 404:
      return new NotFoundError(context.notFound, provider)
    default:
      return new UpstreamError(provider, `${provider} answered ${response.status}: ${detail}`)
  }
}
