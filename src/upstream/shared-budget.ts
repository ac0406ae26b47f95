/**
 * A budget shared by every replica through Redis: one sliding log per
 * credential in a sorted set, checked and spent atomically by a Lua script
 * on Redis's own clock (replicas' clocks may differ). While Redis cannot be
 * reached, each replica falls back on a conservative local budget.
 */
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Budget, Refusal } from './budget.js'

// Returns -1 when a call was taken from the budget, else the milliseconds until one frees.
const SLIDING_LOG = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return -1
`

export class SharedSlidingWindowBudget implements Budget {
  private readonly redis: Redis
  private readonly name: string
  private readonly limit: number
  private readonly windowMs: number
  private readonly fallback: Budget

  /** `name` keeps budgets of different upstreams apart in Redis. */
  constructor (redis: Redis, name: string, limit: number, windowMs: number, fallback: Budget) {
    this.redis = redis
    this.name = name
    this.limit = limit
    this.windowMs = windowMs
    this.fallback = fallback
  }

  async tryAcquire (key: string): Promise<Refusal | undefined> {
    if (this.redis.status !== 'ready') return await this.fallback.tryAcquire(key)
    try {
      const waitMs = Number(await this.redis.eval(SLIDING_LOG, 1, `usage-gateway:budget:${this.name}:${key}`, this.windowMs, this.limit, randomUUID()))
      return waitMs < 0 ? undefined : { retryAfterMs: waitMs }
    } catch {
      // Redis went away mid-call: the local budget answers, as when it is down.
      return await this.fallback.tryAcquire(key)
    }
  }
}
