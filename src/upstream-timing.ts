/**
 * Who a request's upstream calls are charged to, and what they cost it: an
 * explicit context each request carries from its route handler through the
 * usage service and the provider client down to the guarded call. (Explicit,
 * not AsyncLocalStorage: `enterWith` turns on promise hooks for the whole
 * process.) A fetch that several requests share is charged to the one that
 * started it: the shared fetch runs with the starter's context.
 */
import { Grants } from './accounts/grants.js'

export interface UpstreamTally {
  calls: number
  ms: number
  /** The provider account(s) that answered, comma-separated (the log line's `account`). */
  account?: string
}

export interface CallContext {
  /** Whom the share accounting charges: the key's name, or the client address when the gateway has no keys. */
  caller: string
  /** The caller as metrics may name it: the key's name, or `anonymous` (never an address). */
  label: string
  /** Upstream calls made for this request and their time (the request's log line). */
  tally: UpstreamTally
  /** What the caller's API key may see. */
  grants: Grants
  /** No upstream fetch starts after this time (the usage service's clock): a fan-out's bound. */
  startBy?: number
}

/** A fresh tally, for one request's log line. */
export function startTally (): UpstreamTally {
  return { calls: 0, ms: 0 }
}

/** A context for calls no request asked for (tests, tools): charged to nobody in particular. */
export function internalContext (): CallContext {
  return { caller: 'internal', label: 'internal', tally: startTally(), grants: Grants.everything }
}

/** Notes an account that answered part of the request, for its log line. */
export function noteAccount (context: CallContext, account: string): void {
  const noted = context.tally.account
  if (noted === undefined) context.tally.account = account
  else if (!noted.split(',').includes(account)) context.tally.account = `${noted},${account}`
}

export function recordUpstream (context: CallContext, ms: number): void {
  context.tally.calls++
  context.tally.ms += ms
}
