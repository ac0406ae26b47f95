/**
 * Where a Gupshup app token comes from: GUPSHUP_APP_TOKENS first; else,
 * with partner sign-in, from Gupshup itself: one partner login (a token good
 * for 24 hours, renewed before it lapses) and one token fetch per app, each
 * shared by every concurrent caller and kept until Gupshup refuses it.
 */
import { Type } from 'typebox'
import { Compile } from 'typebox/compile'
import { UnknownAppError, UpstreamAuthError, UpstreamInvalidResponseError } from '../../src/errors.js'
import { refusalError } from '../../src/upstream/guarded-call.js'
import type { Budget } from '../../src/upstream/budget.js'
import type { UpstreamHttp } from '../../src/upstream/http.js'
import { statusError } from '../../src/upstream/status-error.js'

/** unknown_app: no token is configured, nor can one be had, for the app. */
export const unknownApp = (appId: string): UnknownAppError =>
  new UnknownAppError('gupshup', `No Gupshup app token is configured for app '${appId}'.`, 'appId')

const isLogin = Compile(Type.Object({ token: Type.String({ minLength: 1 }) }))
const isAppToken = Compile(Type.Object({ token: Type.Object({ token: Type.String({ minLength: 1 }) }) }))

/** Gupshup's partner token lasts 24 hours; renew an hour before. */
const PARTNER_TOKEN_MS = 23 * 3_600_000

export interface GupshupTokensOptions {
  http: UpstreamHttp
  appTokens: Record<string, string>
  partner?: { email: string, secret: string }
  /** Login is limited too (10 a minute). */
  loginBudget: Budget
  now?: () => number
}

export class GupshupTokens {
  private readonly options: GupshupTokensOptions
  private readonly now: () => number
  private partnerToken?: { token: Promise<string>, expiresAt: number }
  private readonly fetched = new Map<string, Promise<string>>()

  constructor (options: GupshupTokensOptions) {
    this.options = options
    this.now = options.now ?? Date.now
  }

  /** Whether a token could be had for `appId`, without asking Gupshup. */
  canServe (appId: string): boolean {
    return Object.hasOwn(this.options.appTokens, appId) || this.options.partner !== undefined
  }

  async tokenFor (appId: string): Promise<string> {
    if (Object.hasOwn(this.options.appTokens, appId)) return this.options.appTokens[appId]
    if (this.options.partner === undefined) throw unknownApp(appId)
    let token = this.fetched.get(appId)
    if (token === undefined) {
      token = this.fetchAppToken(appId)
      this.fetched.set(appId, token)
      // A failed fetch is not kept: the next caller tries again.
      token.catch(() => { if (this.fetched.get(appId) === token) this.fetched.delete(appId) })
    }
    return await token
  }

  /** Gupshup refused `token` for `appId`: forget it. True when a fresh one may be fetched. */
  refused (appId: string, token: string): boolean {
    if (Object.hasOwn(this.options.appTokens, appId)) return false
    this.fetched.delete(appId)
    return this.options.partner !== undefined && token !== ''
  }

  private async fetchAppToken (appId: string, afterLogin = false): Promise<string> {
    const partnerToken = await this.partner()
    const response = await this.options.http.get(`/partner/app/${encodeURIComponent(appId)}/token/`, { authorization: partnerToken })
    if (response.status === 401 && !afterLogin) {
      // The partner token lapsed or was revoked: log in once more.
      this.partnerToken = undefined
      return await this.fetchAppToken(appId, true)
    }
    if (response.status === 400 || response.status === 403 || response.status === 404) throw unknownApp(appId)
    if (response.status !== 200) {
      throw statusError('gupshup', response, { notFound: '', credential: 'the partner token' })
    }
    if (!isAppToken.Check(response.json)) throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent an app token answer without a token.')
    return response.json.token.token
  }

  private async partner (): Promise<string> {
    if (this.partnerToken === undefined || this.now() >= this.partnerToken.expiresAt) {
      const token = this.login()
      this.partnerToken = { token, expiresAt: this.now() + PARTNER_TOKEN_MS }
      token.catch(() => { if (this.partnerToken?.token === token) this.partnerToken = undefined })
    }
    return await this.partnerToken.token
  }

  private async login (): Promise<string> {
    const { partner, http, loginBudget } = this.options
    const spent = await loginBudget.tryAcquire('login')
    if (spent !== undefined) {
      throw refusalError('gupshup', spent, 'partner login budget (10 a minute) is spent')
    }
    const response = await http.postForm('/partner/account/login', { email: partner?.email ?? '', password: partner?.secret ?? '' })
    if (response.status === 401 || response.status === 403) {
      throw new UpstreamAuthError('gupshup', 'gupshup refused the partner sign-in (GUPSHUP_PARTNER_EMAIL and GUPSHUP_PARTNER_SECRET).')
    }
    if (response.status !== 200) throw statusError('gupshup', response, { notFound: 'gupshup has no partner login here.', credential: 'the partner sign-in' })
    if (!isLogin.Check(response.json)) throw new UpstreamInvalidResponseError('gupshup', 'gupshup sent a login answer without a token.')
    return response.json.token
  }
}
