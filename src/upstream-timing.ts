/**
 * Upstream time per request, for its log line: each request gets a tally in
 * its async context, and every upstream attempt made on its behalf adds to it.
 * (A fetch that several requests share counts for the one that started it.)
 */
import { AsyncLocalStorage } from 'node:async_hooks'

export interface UpstreamTally { calls: number, ms: number }

const storage = new AsyncLocalStorage<UpstreamTally>()

/** Starts a tally for the request being handled in this async context. */
export function startTally (): UpstreamTally {
  const tally = { calls: 0, ms: 0 }
  storage.enterWith(tally)
  return tally
}

export function recordUpstream (ms: number): void {
  const tally = storage.getStore()
  if (tally === undefined) return
  tally.calls++
  tally.ms += ms
}
