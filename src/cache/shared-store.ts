/**
 * The second-level report cache in Redis, shared by the replicas, and the
 * short lock that lets one replica fetch a cold report while the others
 * wait for its answer. Every failure here is answered as "nothing shared":
 * the replica then works from its own cache, as without Redis.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import type { CachedReport } from './types.js'

const PREFIX = 'usage-gateway:report:'
// Deletes the lock only if it is still ours (it may have expired and been taken).
const UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

export class SharedReportStore {
  private readonly redis: Redis
  private readonly owner = randomUUID()

  constructor (redis: Redis) {
    this.redis = redis
  }

  private get usable (): boolean {
    return this.redis.status === 'ready'
  }

  async get (key: string): Promise<CachedReport | undefined> {
    if (!this.usable) return undefined
    try {
      const raw = await this.redis.get(PREFIX + key)
      return raw === null ? undefined : JSON.parse(raw) as CachedReport
    } catch {
      return undefined
    }
  }

  /** Kept in Redis for its freshness plus the stale window. */
  async set (key: string, entry: CachedReport, keepMs: number): Promise<void> {
    if (!this.usable || keepMs <= 0) return
    await this.redis.set(PREFIX + key, JSON.stringify(entry), 'PX', keepMs).catch(() => {})
  }

  /**
   * Whether this replica should fetch `key` upstream: true when it holds the
   * lock (or Redis cannot say); else it waits, up to `waitMs`, for the holder's
   * answer to appear, and returns it.
   */
  async fetchOrWait (key: string, isFresh: (entry: CachedReport) => boolean, lockMs: number, waitMs: number): Promise<true | CachedReport> {
    const deadline = Date.now() + waitMs
    while (this.usable && Date.now() < deadline) {
      try {
        if (await this.redis.set(`${PREFIX}${key}:lock`, this.owner, 'PX', lockMs, 'NX') === 'OK') {
          // The holder may have shared its answer and let go between our last look and this lock: look once more.
          const shared = await this.get(key)
          if (shared === undefined || !isFresh(shared)) return true
          await this.unlock(key)
          return shared
        }
      } catch {
        return true
      }
      await sleep(25)
      const entry = await this.get(key)
      if (entry !== undefined && isFresh(entry)) return entry
    }
    return true
  }

  async unlock (key: string): Promise<void> {
    if (!this.usable) return
    await this.redis.eval(UNLOCK, 1, `${PREFIX}${key}:lock`, this.owner).catch(() => {})
  }
}
