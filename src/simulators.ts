/**
 * Demo mode: both upstream simulators on loopback, with fresh credentials,
 * and the configuration that points the gateway at them.
 */
import { randomBytes } from 'node:crypto'
import { exportPKCS8, generateKeyPair } from 'jose'
import type { Config } from '../config.js'
import type { ProviderName } from '../errors.js'
import { createAppleSimulator, type AppleSimulator } from './apple.js'
import { createGupshupSimulator, GUPSHUP_DEMO_APPS, type GupshupSimulator } from './gupshup.js'

export interface RunningSimulators {
  apple: AppleSimulator
  gupshup: GupshupSimulator
  appleBaseUrl: string
  gupshupBaseUrl: string
  appleCredentials: { issuerId: string, keyId: string, privateKeyPem: string }
  gupshupTokens: Record<string, string>
  /** Partner sign-in the Gupshup simulator accepts (demo mode uses the app tokens instead). */
  gupshupPartner: { email: string, secret: string }
  close: () => Promise<void>
}

export interface SimulatorOptions {
  style?: 'example' | 'schema'
  now?: () => number
}

export async function startSimulators (options: SimulatorOptions = {}): Promise<RunningSimulators> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const appleCredentials = { issuerId: '57246542-96fe-1a63-e053-0824d011072a', keyId: 'SIMULATED1', privateKeyPem: await exportPKCS8(privateKey) }
  const gupshupTokens = Object.fromEntries(Object.keys(GUPSHUP_DEMO_APPS).map((appId) => [appId, `sk_${randomBytes(16).toString('hex')}`]))
  const apple = createAppleSimulator({ publicKey, keyId: appleCredentials.keyId, issuerId: appleCredentials.issuerId, style: options.style, now: options.now })
  const gupshupPartner = { email: 'partner@example.com', secret: randomBytes(16).toString('hex') }
  const gupshup = createGupshupSimulator({
    apps: Object.fromEntries(Object.entries(GUPSHUP_DEMO_APPS).map(([appId, name]) => [appId, { name, token: gupshupTokens[appId] }])),
    partner: gupshupPartner,
    now: options.now
  })
  const appleBaseUrl = await apple.server.listen({ host: '127.0.0.1', port: 0 })
  const gupshupBaseUrl = await gupshup.server.listen({ host: '127.0.0.1', port: 0 })
  return {
    apple,
    gupshup,
    appleBaseUrl,
    gupshupBaseUrl,
    appleCredentials,
    gupshupTokens,
    gupshupPartner,
    close: async () => { await Promise.all([apple.server.close(), gupshup.server.close()]) }
  }
}

/** Providers without credentials, outside production, are answered by the simulators. */
export function providersToSimulate (config: Config): ProviderName[] {
  if (config.production) return []
  const missing: ProviderName[] = []
  if (config.apple.credentials === undefined) missing.push('apple')
  if (Object.keys(config.gupshup.appTokens).length === 0 && config.gupshup.partner === undefined) missing.push('gupshup')
  return missing
}

/** The configuration with the named providers pointed at the simulators. */
export function simulatedConfig (config: Config, simulators: RunningSimulators, providers: ProviderName[]): Config {
  return {
    ...config,
    apple: providers.includes('apple') ? { ...config.apple, baseUrl: simulators.appleBaseUrl, credentials: simulators.appleCredentials } : config.apple,
    gupshup: providers.includes('gupshup') ? { ...config.gupshup, baseUrl: simulators.gupshupBaseUrl, appTokens: simulators.gupshupTokens } : config.gupshup
  }
}
