/**
 * One upstream GET under the gateway's protections: the 429 back-off shared
 * by every request of a credential, the credential's budget (each attempt
 * spends one call), and at most two retries with jittered exponential
 * back-off on network errors and 5xx, all within one deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { UpstreamError, UpstreamRateLimitedError, UpstreamTimeoutError } from '../errors.js'
import { quietObserver, type GatewayObserver } from '../observer.js'
import { recordUpstream } from '../upstream-timing.js'
import type { BackoffGate, Budget, Refusal } from './budget.js'
import { retryAfterSeconds, type UpstreamHttp, type UpstreamResponse } from './http.js'

export interface CallGuard {
  provider: string
  budget: Budget
  gate: BackoffGate
  timeoutMs: number
  maxRetries: number
  retryBaseMs: number
  /** Sees every upstream answer (Apple's quota reads its `X-Rate-Limit`). */
  onResponse?: (key: string, response: UpstreamResponse) => void
  random?: () => number
  observer?: GatewayObserver
}

/** A call the gateway will not make yet, as the 429 it is answered with (never `Retry-After: 0`). */
export function refusalError (provider: string, refusal: Refusal, why: string): UpstreamRateLimitedError {
  const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))
  return new UpstreamRateLimitedError(provider, seconds, `${provider} ${why}; retry after ${seconds} s.`)
}

export interface GuardedGet {
  http: UpstreamHttp
  guard: CallGuard
  /** Names the credential (never the credential itself): budgets and back-off are per key. */
  key: string
  path: string
  headers: Record<string, string>
  /** Labels the call for metrics. */
  report?: string
}

export async function guardedGet ({ http, guard, key, path, headers, report = 'other' }: GuardedGet): Promise<UpstreamResponse> {
  const deadline = AbortSignal.timeout(guard.timeoutMs)
  const started = Date.now()
  const random = guard.random ?? Math.random
  const observer = guard.observer ?? quietObserver
  let last: { response?: UpstreamResponse, error?: unknown } = {}
  for (let attempt = 0; ; attempt++) {
    const waiting = guard.gate.check(key)
    if (waiting !== undefined) {
      observer.upstreamRefused(guard.provider, 'backoff')
      throw refusalError(guard.provider, waiting, 'answered 429 to this credential moments ago')
    }
    const spent = await guard.budget.tryAcquire(key)
    if (spent !== undefined) {
      observer.upstreamRefused(guard.provider, 'budget')
      // A retry that the budget cannot afford gives up with what the last attempt got.
      if (attempt > 0) break
      throw refusalError(guard.provider, spent, "call budget of this credential is spent (the gateway never exceeds the upstream's limit)")
    }
    const callStarted = performance.now()
    const seconds = (): number => {
      const ms = performance.now() - callStarted
      recordUpstream(ms)
      return ms / 1000
    }
    try {
      let response: UpstreamResponse
      try {
        response = await http.get(path, headers, deadline)
      } catch (error) {
        observer.upstreamCall(guard.provider, report, error instanceof UpstreamTimeoutError ? 'timeout' : 'error', seconds())
        throw error
      }
      observer.upstreamCall(guard.provider, report, String(response.status), seconds())
      guard.onResponse?.(key, response)
      if (response.status === 429) {
        const retryAfter = retryAfterSeconds(response.headers['retry-after'])
        const waitMs = guard.gate.block(key, retryAfter === undefined ? undefined : retryAfter * 1000)
        throw refusalError(guard.provider, { retryAfterMs: waitMs }, 'is rate limiting this gateway')
      }
      guard.gate.clear(key)
      if (response.status < 500) return response
      last = { response }
    } catch (error) {
      // Only transport failures are retried; a timeout has spent the deadline already.
      if (!(error instanceof UpstreamError)) throw error
      last = { error }
    }
    const backoffMs = random() * guard.retryBaseMs * 2 ** attempt
    if (attempt >= guard.maxRetries || Date.now() - started + backoffMs >= guard.timeoutMs) break
    await sleep(backoffMs)
  }
  if (last.response !== undefined) return last.response
  throw last.error
}
