/**
 * Upstream budgets: how many calls the gateway may still make, per
 * credential, before it must answer from the cache or with a 429.
 */

/** A refusal: how long until a call may be made again. */
export interface Refusal { retryAfterMs: number }

export interface Budget {
  /** Takes one call from the budget of `key`, or says how long to wait. */
  tryAcquire: (key: string) => Refusal | undefined | Promise<Refusal | undefined>
  /** A call taken from the budget has ended (answered, failed or never started). */
  settle?: (key: string) => void
}

/**
 * At most `limit` calls in any `windowMs` (a sliding log). Gupshup does not
 * say how it counts its 10 a minute; a token bucket that refills on top of
 * a full burst lets nearly twice that through in one minute, this cannot.
 */
export class SlidingWindowBudget implements Budget {
  private readonly calls = new Map<string, number[]>()
  private readonly limit: number
  private readonly windowMs: number
  private readonly now: () => number

  constructor (limit: number, windowMs: number, now: () => number = Date.now) {
    this.limit = limit
    this.windowMs = windowMs
    this.now = now
  }

  tryAcquire (key: string): Refusal | undefined {
    const now = this.now()
    const recent = (this.calls.get(key) ?? []).filter((time) => time > now - this.windowMs)
    if (recent.length >= this.limit) {
      this.calls.set(key, recent)
      return { retryAfterMs: recent[0] + this.windowMs - now }
    }
    recent.push(now)
    this.calls.set(key, recent)
    return undefined
  }
}

/** `user-hour-lim:3600;user-hour-rem:3599;` → { 'user-hour-lim': 3600, 'user-hour-rem': 3599 }. */
export function parseRateLimitHeader (header: string | string[] | undefined): Record<string, number> {
  const figures: Record<string, number> = {}
  const raw = Array.isArray(header) ? header.join(';') : header ?? ''
  for (const pair of raw.split(';')) {
    const match = /^\s*([\w-]+)\s*:\s*(\d+)\s*$/.exec(pair)
    if (match !== null) figures[match[1]] = Number(match[2])
  }
  return figures
}

/** What Apple allows an hour when it has not said yet. */
export const APPLE_HOURLY_LIMIT = 3600

/**
 * Apple's quota, as Apple last reported it in `X-Rate-Limit` (any
 * `*-rem` figure, per hour or per minute), less the calls taken since and
 * not yet answered: a call counts when it is queued, not when Apple sees it,
 * so a burst of cold requests cannot run past the reserve. Below the
 * reserve, no call is made until `probeAfterMs` has passed; the next answer
 * then brings new figures.
 */
export class AppleQuota implements Budget {
  private readonly latest = new Map<string, { remaining: number, seenAt: number, figures: Record<string, number> }>()
  /** Calls taken from the budget and not yet answered, per key. */
  private readonly outstanding = new Map<string, number>()
  private readonly reserve: number
  private readonly probeAfterMs: number
  private readonly now: () => number

  constructor (reserve: number, probeAfterMs: number, now: () => number = Date.now) {
    this.reserve = reserve
    this.probeAfterMs = probeAfterMs
    this.now = now
  }

  observe (key: string, header: string | string[] | undefined): void {
    const figures = parseRateLimitHeader(header)
    const remaining = Object.entries(figures).filter(([name]) => name.endsWith('-rem')).map(([, value]) => value)
    if (remaining.length > 0) this.latest.set(key, { remaining: Math.min(...remaining), seenAt: this.now(), figures })
  }

  /** Apple's latest figures for `key` (for operators: `user-hour-rem` and friends). */
  figures (key: string): Record<string, number> | undefined {
    return this.latest.get(key)?.figures
  }

  /** Apple's hourly limit for `key`, as it last said (3,600 until it does). */
  hourlyLimit (key: string): number {
    return this.latest.get(key)?.figures['user-hour-lim'] ?? APPLE_HOURLY_LIMIT
  }

  tryAcquire (key: string): Refusal | undefined {
    const latest = this.latest.get(key)
    const outstanding = this.outstanding.get(key) ?? 0
    const remaining = (latest?.remaining ?? APPLE_HOURLY_LIMIT) - outstanding
    if (remaining > this.reserve) return this.take(key)
    // Calls in flight will bring new figures within moments; until then, wait for them.
    if (latest === undefined || outstanding > 0) return { retryAfterMs: 1000 }
    const waitMs = latest.seenAt + this.probeAfterMs - this.now()
    if (waitMs > 0) return { retryAfterMs: waitMs }
    // Probe once: the answer refreshes the figures.
    latest.seenAt = this.now()
    return this.take(key)
  }

  settle (key: string): void {
    this.outstanding.set(key, Math.max(0, (this.outstanding.get(key) ?? 0) - 1))
  }

  private take (key: string): undefined {
    this.outstanding.set(key, (this.outstanding.get(key) ?? 0) + 1)
    return undefined
  }
}

/**
 * After an upstream 429, every request for the same credential waits: for
 * `Retry-After` when the upstream sent one, else for a back-off that doubles
 * with each 429 in a row.
 */
export class BackoffGate {
  private readonly blocked = new Map<string, { until: number, strikes: number }>()
  private readonly baseMs: number
  private readonly maxMs: number
  private readonly now: () => number

  constructor (baseMs: number, maxMs: number, now: () => number = Date.now) {
    this.baseMs = baseMs
    this.maxMs = maxMs
    this.now = now
  }

  check (key: string): Refusal | undefined {
    const state = this.blocked.get(key)
    const waitMs = state === undefined ? 0 : state.until - this.now()
    return waitMs > 0 ? { retryAfterMs: waitMs } : undefined
  }

  /** The upstream said 429; returns how long everyone now waits. */
  block (key: string, retryAfterMs?: number): number {
    const strikes = (this.blocked.get(key)?.strikes ?? 0) + 1
    const waitMs = retryAfterMs ?? Math.min(this.maxMs, this.baseMs * 2 ** (strikes - 1))
    this.blocked.set(key, { until: this.now() + waitMs, strikes })
    return waitMs
  }

  /** A call went through: the next 429 starts the back-off afresh. */
  clear (key: string): void {
    this.blocked.delete(key)
  }
}
