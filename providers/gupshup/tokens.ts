/**
 * Where a Gupshup app token comes from: GUPSHUP_APP_TOKENS first; else,
 * with partner sign-in, from Gupshup itself: one partner login (a token good
 * for 24 hours, renewed before it lapses) and one token fetch per app, each
 * shared by every concurrent caller and kept until Gupshup refuses it. Token
 * fetches are guarded calls (budgeted, charged to the caller, counted); an
 * app the partner does not have is remembered as unknown for a while.
 */
import { LRUCache } from 'lru-cache'
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UnknownAppError, UpstreamAuthError, UpstreamInvalidResponseError } from '../../src/errors.js'
import { quietObserver, type GatewayObserver } from '../../src/observer.js'
import { guardedGet, refusalError, type CallGuard } from '../../src/upstream/guarded-call.js'
import { recordUpstream, type CallContext } from '../../src/upstream-timing.js'
import type { Budget } from '../../src/upstream/budget.js'
import type { UpstreamHttp, UpstreamResponse } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'

/** unknown_app: no token is configured, nor can one be had, for the app. */
export const unknownApp = (appId: string): UnknownAppError =>
  new UnknownAppError('gupshup', `No Gupshup app token is configured for app '${appId}'.`, 'appId')

const isLogin = Compile(Type.Object({ token: Type.String({ minLength: 1 }) }))
const isAppToken = Compile(Type.Object({ token: Type.Object({ token: Type.String({ minLength: 1 }) }) }))

/** Gupshup's partner token lasts 24 hours; renew an hour before. */
const PARTNER_TOKEN_MS = 23 * 3_600_000
/** How long an app the partner does not have is answered unknown without asking again. */
export const UNKNOWN_APP_TTL_MS = 10 * 60_000

export interface GupshupTokensOptions {
  http: UpstreamHttp
  appTokens: Record<string, string>
  partner?: { email: string, secret: string }
  /** Login is limited too (10 a minute). */
  loginBudget: Budget
  /** Token fetches: their own budget (the partner's), shares and back-off. */
  tokenGuard: CallGuard
  observer?: GatewayObserver
  now?: () => number
}

export class GupshupTokens {
  private readonly options: GupshupTokensOptions
  private readonly now: () => number
  private partnerToken?: { token: Promise<string>, expiresAt: number }
  private readonly fetched = new Map<string, Promise<string>>()
  /** Apps the partner said it does not have, for UNKNOWN_APP_TTL_MS. */
  private readonly unknown: LRUCache<string, true>

  constructor (options: GupshupTokensOptions) {
    this.options = options
    this.now = options.now ?? Date.now
    this.unknown = new LRUCache({ max: 10_000, ttl: UNKNOWN_APP_TTL_MS, perf: { now: this.now }, ttlResolution: 0 })
  }

  /** Whether a token could be had for `appId`, without asking Gupshup. */
  canServe (appId: string): boolean {
    if (Object.hasOwn(this.options.appTokens, appId)) return true
    return this.options.partner !== undefined && !this.unknown.has(appId)
  }

  async tokenFor (appId: string, context: CallContext): Promise<string> {
    if (Object.hasOwn(this.options.appTokens, appId)) return this.options.appTokens[appId]
    if (this.options.partner === undefined || this.unknown.has(appId)) throw unknownApp(appId)
    let token = this.fetched.get(appId)
    if (token === undefined) {
      token = this.fetchAppToken(appId, context)
      this.fetched.set(appId, token)
      // A failed fetch is not kept: the next caller tries again (an unknown app is remembered as such).
      token.catch((error: unknown) => {
        if (error instanceof UnknownAppError) this.unknown.set(appId, true)
        if (this.fetched.get(appId) === token) this.fetched.delete(appId)
      })
    }
    return await token
  }

  /** Whether the gateway signs in as the partner (and can list the partner's apps). */
  get hasPartner (): boolean {
    return this.options.partner !== undefined
  }

  /** The apps GUPSHUP_APP_TOKENS names. */
  configuredApps (): string[] {
    return Object.keys(this.options.appTokens)
  }

  /**
   * A partner call (the app list): the partner token in Gupshup's `token`
   * header, under the partner's guard; a refused partner token signs in once more.
   */
  async partnerGet (path: string, report: string, context: CallContext, afterLogin = false): Promise<UpstreamResponse> {
    const { http, tokenGuard } = this.options
    const response = await guardedGet({ http, guard: tokenGuard, key: 'partner', path, headers: { token: await this.partner(context) }, report, context })
    if (response.status === 401 && !afterLogin) {
      this.partnerToken = undefined
      return await this.partnerGet(path, report, context, true)
    }
    return response
  }

  /** Gupshup refused `token` for `appId`: forget it. True when a fresh one may be fetched. */
  refused (appId: string, token: string): boolean {
    if (Object.hasOwn(this.options.appTokens, appId)) return false
    this.fetched.delete(appId)
    return this.options.partner !== undefined && token !== ''
  }

  private async fetchAppToken (appId: string, context: CallContext, afterLogin = false): Promise<string> {
    const partnerToken = await this.partner(context)
    const { http, tokenGuard } = this.options
    const response = await guardedGet({ http, guard: tokenGuard, key: 'partner', path: `/partner/app/${encodeURIComponent(appId)}/token/`, headers: { authorization: partnerToken }, report: 'appToken', context })
    if (response.status === 401 && !afterLogin) {
      // The partner token lapsed or was revoked: log in once more.
      this.partnerToken = undefined
      return await this.fetchAppToken(appId, context, true)
    }
    if (response.status === 400 || response.status === 403 || response.status === 404) throw unknownApp(appId)
    if (response.status !== 200) {
      throw statusError('gupshup', response, { notFound: '', credential: 'the partner token' })
    }
    if (!isAppToken.Check(response.json)) throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent an app token answer without a token.')
    return response.json.token.token
  }

  private async partner (context: CallContext): Promise<string> {
    if (this.partnerToken === undefined || this.now() >= this.partnerToken.expiresAt) {
      const token = this.login(context)
      this.partnerToken = { token, expiresAt: this.now() + PARTNER_TOKEN_MS }
      token.catch(() => { if (this.partnerToken?.token === token) this.partnerToken = undefined })
    }
    return await this.partnerToken.token
  }

  private async login (context: CallContext): Promise<string> {
    const { partner, http, loginBudget } = this.options
    const observer = this.options.observer ?? quietObserver
    const spent = await loginBudget.tryAcquire('login')
    if (spent !== undefined) {
      observer.upstreamRefused('gupshup', 'budget')
      throw refusalError('gupshup', spent, 'partner login budget (10 a minute) is spent')
    }
    observer.callerCharged('gupshup', context.label)
    const started = performance.now()
    let status = 'error'
    let response
    try {
      response = await http.postForm('/partner/account/login', { email: partner?.email ?? '', password: partner?.secret ?? '' })
      status = String(response.status)
    } finally {
      const ms = performance.now() - started
      recordUpstream(context, ms)
      observer.upstreamCall('gupshup', 'login', status, ms / 1000)
    }
    if (response.status === 401 || response.status === 403) {
      throw new UpstreamAuthError('gupshup', 'gupshup refused the partner sign-in (GUPSHUP_PARTNER_EMAIL and GUPSHUP_PARTNER_SECRET).')
    }
    if (response.status !== 200) throw statusError('gupshup', response, { notFound: 'gupshup has no partner login here.', credential: 'the partner sign-in' })
    if (!isLogin.Check(response.json)) throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent a login answer without a token.')
    return response.json.token
  }
}
