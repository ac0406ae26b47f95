/**
 * App Store Connect bearer tokens: ES256 JWTs signed with the team's .p8 key.
 * One token is reused until shortly before it expires; concurrent callers
 * share one signing.
 */
import { importPKCS8, SignJWT, type CryptoKey } from 'jose'
import type { AppleCredentials } from './config.js'

/** Apple rejects tokens that live longer than 20 minutes. */
const LIFETIME_SECONDS = 15 * 60
/** Backdate `iat` against clock skew between this host and Apple. */
const SKEW_SECONDS = 60
/** Mint a new token once the current one has less than this left. */
const RENEW_BEFORE_SECONDS = 120

export class AppleTokenSigner {
  private readonly credentials: AppleCredentials
  private readonly now: () => number
  private key?: Promise<CryptoKey>
  private current?: { token: Promise<string>, expiresAt: number }

  constructor (credentials: AppleCredentials, now: () => number = Date.now) {
    this.credentials = credentials
    this.now = now
  }

  async token (): Promise<string> {
    const nowSeconds = Math.floor(this.now() / 1000)
    if (this.current === undefined || this.current.expiresAt - nowSeconds < RENEW_BEFORE_SECONDS) {
      const expiresAt = nowSeconds + LIFETIME_SECONDS
      const token = this.sign(nowSeconds - SKEW_SECONDS, expiresAt)
      this.current = { token, expiresAt }
      // A failed signing must not be reused.
      token.catch(() => { if (this.current?.token === token) this.current = undefined })
    }
    return await this.current.token
  }

  /** Forget the current token (Apple answered 401 to it). */
  invalidate (): void {
    this.current = undefined
  }

  private async sign (issuedAt: number, expiresAt: number): Promise<string> {
    this.key ??= importPKCS8(this.credentials.privateKeyPem, 'ES256')
    const { issuerId, keyId } = this.credentials
    const jwt = new SignJWT(issuerId === undefined ? { sub: 'user' } : {})
      .setProtectedHeader({ alg: 'ES256', kid: keyId, typ: 'JWT' })
      .setAudience('appstoreconnect-v1')
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
    if (issuerId !== undefined) jwt.setIssuer(issuerId)
    return await jwt.sign(await this.key)
  }
}
