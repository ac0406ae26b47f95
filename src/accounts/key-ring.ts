/**
 * The gateway's API keys as it holds them: names, SHA-256 digests and
 * grants, never a key. Replaced whole on SIGHUP; a request checks against
 * the ring of the moment it arrived.
 */
import { hash, timingSafeEqual } from 'node:crypto'
import type { ApiKey } from './grants.js'

// One-shot hash (Node 20.12+): half the cost of a Hash object per request.
const digest = (key: string): Buffer => hash('sha256', key, 'buffer')

export class KeyRing {
  private keys: readonly ApiKey[]
  /** Bumped by each replace: a key verified against an earlier ring is checked again. */
  generation = 0

  constructor (keys: readonly ApiKey[]) {
    this.keys = keys
  }

  replace (keys: readonly ApiKey[]): void {
    this.keys = keys
    this.generation++
  }

  get size (): number {
    return this.keys.length
  }

  /** The key presented, if the ring has it: its digest is compared with every key's, so the time taken says nothing of which matched. */
  find (presented: string): ApiKey | undefined {
    const presentedDigest = digest(presented)
    let found: ApiKey | undefined
    for (const key of this.keys) if (timingSafeEqual(presentedDigest, key.digest) && found === undefined) found = key
    return found
  }
}
