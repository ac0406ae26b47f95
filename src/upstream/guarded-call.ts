/**
 * One upstream GET under the gateway's protections: the 429 back-off shared
 * by every request of a credential, the caller's share of the credential
 * (each call is charged to the caller whose request caused it), the
 * credential's budget (each attempt spends one call, counted when it is
 * queued), the bounded queue in front of the connections, and at most two
 * retries with jittered exponential back-off on network errors and 5xx, all
 * within one deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { CallerShareError, UpstreamError, UpstreamRateLimitedError, UpstreamTimeoutError } from '../errors.js'
import { quietObserver, type GatewayObserver } from '../observer.js'
import { recordUpstream, type CallContext } from '../upstream-timing.js'
import type { BackoffGate, Budget, Refusal } from './budget.js'
import type { CallerShares } from './caller-shares.js'
import type { CallQueue } from './call-queue.js'
import { deadlineAfter, retryAfterSeconds, type UpstreamHttp, type UpstreamResponse } from './http.js'

export interface CallGuard {
  provider: string
  budget: Budget
  gate: BackoffGate
  timeoutMs: number
  maxRetries: number
  retryBaseMs: number
  /** The longest an upstream Retry-After is honoured (UPSTREAM_MAX_BACKOFF_SECONDS). */
  maxBackoffMs?: number
  /** Each caller's share of the credential's budget window. */
  shares?: CallerShares
  /** The bounded queue in front of the upstream's connections. */
  queue?: CallQueue
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
  /** Whom the call is charged to (the caller whose request caused it), and its request's tally. */
  context: CallContext
}

export async function guardedGet (call: GuardedGet): Promise<UpstreamResponse> {
  // One deadline for every attempt, its timer cleared when the call is over (src/upstream/http.ts).
  const deadline = deadlineAfter(call.guard.timeoutMs)
  try {
    return await attempts(call, deadline.signal)
  } finally {
    deadline.clear()
  }
}

async function attempts ({ http, guard, key, path, headers, report = 'other', context }: GuardedGet, deadline: AbortSignal): Promise<UpstreamResponse> {
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
    const overShare = guard.shares?.check(key, context.caller)
    if (overShare !== undefined && guard.shares !== undefined) {
      observer.upstreamRefused(guard.provider, 'share', context.label)
      throw new CallerShareError(guard.provider, Math.max(1, Math.ceil(overShare.retryAfterMs / 1000)), guard.shares.share)
    }
    const spent = await guard.budget.tryAcquire(key)
    if (spent !== undefined) {
      observer.upstreamRefused(guard.provider, 'budget')
      // A retry that the budget cannot afford gives up with what the last attempt got.
      if (attempt > 0) break
      throw refusalError(guard.provider, spent, "call budget of this credential is spent (the gateway never exceeds the upstream's limit)")
    }
    let release: () => void = () => {}
    try {
      if (guard.queue !== undefined) release = await guard.queue.acquire(deadline, guard.timeoutMs - (Date.now() - started))
    } catch (error) {
      observer.upstreamRefused(guard.provider, 'busy')
      guard.budget.settle?.(key)
      throw error
    }
    // The call will be made: charge it to the caller whose request caused it.
    guard.shares?.charge(key, context.caller)
    observer.callerCharged(guard.provider, context.label)
    const callStarted = performance.now()
    const seconds = (): number => {
      const ms = performance.now() - callStarted
      recordUpstream(context, ms)
      return ms / 1000
    }
    try {
      let response: UpstreamResponse
      try {
        response = await http.get(path, headers, deadline)
      } catch (error) {
        observer.upstreamCall(guard.provider, report, error instanceof UpstreamTimeoutError ? 'timeout' : 'error', seconds())
        throw error
      } finally {
        release()
        guard.budget.settle?.(key)
      }
      observer.upstreamCall(guard.provider, report, String(response.status), seconds())
      guard.onResponse?.(key, response)
      if (response.status === 429) {
        const retryAfter = retryAfterSeconds(response.headers['retry-after'])
        const capMs = guard.maxBackoffMs ?? Number.POSITIVE_INFINITY
        const waitMs = guard.gate.block(key, retryAfter === undefined ? undefined : Math.min(capMs, retryAfter * 1000))
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
