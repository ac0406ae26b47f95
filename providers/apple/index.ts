/**
 * Apple (App Store Connect TestFlight metrics) as one provider of the registry.
 */
import { generateKeyPair, exportPKCS8 } from 'jose'
import type { Provider, RunningSimulator, SimulatorOptions } from '../../src/provider.js'
import { AppleQuota } from '../../src/upstream/budget.js'
import { CallQueue } from '../../src/upstream/call-queue.js'
import { UpstreamHttp } from '../../src/upstream/http.js'
import { AppleClient } from './client.js'
import { NotFoundError } from '../../src/errors.js'
import { parseAppleAccount, parseAppleConfig, type AppleConfig, type AppleCredentials } from './config.js'
import { appleDirectories } from './directories.js'
import { appleEndpoints, type AppleEndpoint } from './endpoints.js'
import { APPLE_DEMO, createAppleSimulator, type AppleSimulator } from './simulator.js'
import { AppleTokenSigner } from './token.js'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

export interface RunningAppleSimulator extends RunningSimulator<AppleConfig>, AppleSimulator {
  /** A fresh key the simulator trusts. */
  credentials: Required<AppleCredentials>
  /** A bearer token the simulator accepts, for calling it directly. */
  token: () => Promise<string>
}

/** The simulator on loopback, with a fresh key pair: the gateway signs, the simulator verifies. */
async function startSimulator (options: SimulatorOptions): Promise<RunningAppleSimulator> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  const credentials = { issuerId: '57246542-96fe-1a63-e053-0824d011072a', keyId: 'SIMULATED1', privateKeyPem: await exportPKCS8(privateKey) }
  const simulator = createAppleSimulator({ publicKey, keyId: credentials.keyId, issuerId: credentials.issuerId, style: options.style, now: options.now })
  const baseUrl = await simulator.server.listen({ host: '127.0.0.1', port: 0 })
  return {
    ...simulator,
    baseUrl,
    credentials,
    token: async () => await new AppleTokenSigner(credentials).token(),
    configure: (cfg) => ({ ...cfg, baseUrl, credentials }),
    close: async () => { await simulator.server.close() }
  }
}

export interface AppleTeamsOptions extends SimulatorOptions {
  /** Each team's apps; by default team A sees Acme Chat (6447306070), team B Acme Notes (6448250830). */
  apps?: string[][]
  /** Each key's hourly quota (3600, as Apple's). */
  hourlyLimit?: number
}

export interface RunningAppleTeam {
  /** A fresh key only this team's apps are visible to. */
  credentials: Required<AppleCredentials>
  apps: string[]
  /** `cfg` pointed at the simulator, with this team's key. */
  configure: (cfg: AppleConfig) => AppleConfig
  /** A bearer token of this team's key, for calling the simulator directly. */
  token: () => Promise<string>
}

export interface RunningAppleTeams {
  baseUrl: string
  teams: RunningAppleTeam[]
  /** Every request, by path. */
  calls: string[]
  /** Requests with a valid token (any status), by path, per key id. */
  callsByKey: Record<string, string[]>
  close: () => Promise<void>
}

/**
 * One simulator trusting several App Store Connect keys (teams), each seeing
 * only its own apps: for tests of several Apple accounts in one gateway.
 */
export async function startAppleTeams (options: AppleTeamsOptions = {}): Promise<RunningAppleTeams> {
  const appsOf = options.apps ?? Object.keys(APPLE_DEMO.apps).sort().map((app) => [app])
  const keys = await Promise.all(appsOf.map(async (apps, index) => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const credentials = {
      issuerId: `57246542-96fe-1a63-e053-0824d01107${String(index).padStart(2, '0')}`,
      keyId: `TEAM${String.fromCharCode(65 + index)}KEY01`,
      privateKeyPem: await exportPKCS8(privateKey)
    }
    return { credentials, publicKey, apps }
  }))
  const simulator = createAppleSimulator({
    teams: keys.map(({ credentials, publicKey, apps }) => ({ keyId: credentials.keyId, issuerId: credentials.issuerId, publicKey, apps })),
    style: options.style,
    now: options.now,
    hourlyLimit: options.hourlyLimit
  })
  const baseUrl = await simulator.server.listen({ host: '127.0.0.1', port: 0 })
  return {
    baseUrl,
    teams: keys.map(({ credentials, apps }) => ({
      credentials,
      apps,
      configure: (cfg) => ({ ...cfg, baseUrl, credentials }),
      token: async () => await new AppleTokenSigner(credentials, options.now).token()
    })),
    calls: simulator.calls,
    callsByKey: simulator.callsByKey,
    close: async () => { await simulator.server.close() }
  }
}

export const apple = {
  name: 'apple',
  tag: { description: 'TestFlight usage from the App Store Connect API' },
  endpoints: appleEndpoints,
  directories: appleDirectories,
  config: {
    parse: parseAppleConfig,
    isConfigured: (cfg: AppleConfig) => cfg.credentials !== undefined,
    account: parseAppleAccount
  },
  // The sentence Apple's own 404 gets (providers/apple/client.ts): a hidden subject reads the same.
  notFound: (type: string, id: string) => new NotFoundError(`apple has no ${type} '${id}' (or this API key cannot see it).`, 'apple'),
  createSource (cfg: AppleConfig, { dispatcher, now, timeoutMs, retries, observer, maxBackoffMs, backoff, shares }) {
    if (cfg.credentials === undefined) throw new Error('apple has no credentials')
    const quota = new AppleQuota(cfg.quotaReserve, MINUTE_MS, now)
    const guard = {
      provider: 'apple',
      budget: quota,
      gate: backoff(10_000),
      timeoutMs,
      ...retries,
      maxBackoffMs,
      // Apple's window is its hour, of what Apple last said it allows.
      shares: shares(HOUR_MS, (key) => quota.hourlyLimit(key)),
      queue: new CallQueue({ provider: 'apple', concurrency: cfg.maxConcurrency, maxPending: cfg.maxPending }),
      observer,
      onResponse: (key: string, response: { headers: Record<string, string | string[] | undefined> }) => { quota.observe(key, response.headers['x-rate-limit']) }
    }
    const http = new UpstreamHttp({ provider: 'apple', baseUrl: cfg.baseUrl, timeoutMs, connections: cfg.maxConcurrency, dispatcher })
    return new AppleClient(http, new AppleTokenSigner(cfg.credentials, now), guard, cfg.credentials.keyId, quota)
  },
  simulator: { start: startSimulator },
  quotaMetric: { help: "Apple's last reported X-Rate-Limit figures per API key (user-hour-rem and the like)." }
} as const satisfies Provider<'apple', AppleConfig, AppleEndpoint>
