/**
 * Gupshup (WhatsApp usage and fees, Partner API) as one provider of the registry.
 */
import { randomBytes } from 'node:crypto'
import type { Provider, RunningSimulator, SimulatorOptions } from '../../src/provider.js'
import type { Budget } from '../../src/upstream/budget.js'
import type { CallGuard } from '../../src/upstream/guarded-call.js'
import { UpstreamHttp } from '../../src/upstream/http.js'
import { GupshupClient } from './client.js'
import { parseGupshupAccount, parseGupshupConfig, type GupshupConfig } from './config.js'
import { gupshupDirectories } from './directories.js'
import { gupshupEndpoints, type GupshupEndpoint } from './endpoints.js'
import { createGupshupSimulator, GUPSHUP_DEMO_APPS, type GupshupSimulator } from './simulator.js'
import { GupshupTokens, unknownApp } from './tokens.js'

const MINUTE_MS = 60_000
/** Gupshup's minute is measured by its clock, not ours: one more second keeps clear of it. */
const WINDOW_MS = MINUTE_MS + 1_000

export interface RunningGupshupSimulator extends RunningSimulator<GupshupConfig>, GupshupSimulator {
  /** The demo apps' tokens, app id → token. */
  tokens: Record<string, string>
  /** Partner sign-in the simulator accepts (demo mode uses the app tokens instead). */
  partner: { email: string, secret: string }
}

/** The simulator on loopback, with fresh app tokens and partner secret. */
async function startSimulator (options: SimulatorOptions): Promise<RunningGupshupSimulator> {
  const tokens = Object.fromEntries(Object.keys(GUPSHUP_DEMO_APPS).map((appId) => [appId, `sk_${randomBytes(16).toString('hex')}`]))
  const partner = { email: 'partner@example.com', secret: randomBytes(16).toString('hex') }
  const simulator = createGupshupSimulator({
    apps: Object.fromEntries(Object.entries(GUPSHUP_DEMO_APPS).map(([appId, name]) => [appId, { name, token: tokens[appId] }])),
    partner,
    now: options.now
  })
  const baseUrl = await simulator.server.listen({ host: '127.0.0.1', port: 0 })
  return {
    ...simulator,
    baseUrl,
    tokens,
    partner,
    configure: (cfg) => ({ ...cfg, baseUrl, appTokens: tokens }),
    close: async () => { await simulator.server.close() }
  }
}

export const gupshup = {
  name: 'gupshup',
  tag: { description: 'WhatsApp messaging usage and fees from the Gupshup Partner API' },
  endpoints: gupshupEndpoints,
  directories: gupshupDirectories,
  config: {
    parse: parseGupshupConfig,
    isConfigured: (cfg: GupshupConfig) => Object.keys(cfg.appTokens).length > 0 || cfg.partner !== undefined,
    account: parseGupshupAccount
  },
  // An app no account holds is unknown whether or not it exists: a hidden one reads the same.
  notFound: (_type: string, id: string) => unknownApp(id),
  createSource (cfg: GupshupConfig, { dispatcher, now, timeoutMs, retries, observer, budget, maxBackoffMs, backoff, shares }) {
    const http = new UpstreamHttp({ provider: 'gupshup', baseUrl: cfg.baseUrl, timeoutMs, dispatcher })
    const guardOf = (calls: Budget, limit: number): CallGuard => ({
      provider: 'gupshup',
      budget: calls,
      gate: backoff(MINUTE_MS),
      timeoutMs,
      ...retries,
      maxBackoffMs,
      shares: shares(WINDOW_MS, () => limit),
      observer
    })
    const limit = cfg.rateLimitPerMinute
    // Gupshup's partner login is limited to 10 a minute, like its app tokens; so are the partner's token fetches here.
    const tokens = new GupshupTokens({
      http,
      appTokens: cfg.appTokens,
      partner: cfg.partner,
      loginBudget: budget('login', 10, WINDOW_MS),
      tokenGuard: guardOf(budget('tokens', limit, WINDOW_MS), limit),
      observer,
      now
    })
    return new GupshupClient(http, tokens, guardOf(budget('calls', limit, WINDOW_MS), limit), now)
  },
  simulator: { start: startSimulator }
} as const satisfies Provider<'gupshup', GupshupConfig, GupshupEndpoint>
