/**
 * Demo mode: providers without credentials (outside production) are answered
 * by their simulators on loopback, and the configuration is pointed at them.
 */
import type { Config } from './config.js'
import type { ConfigsOf, Provider, SimulatorOptions, SimulatorsOf } from './provider.js'

/** Providers without any account (credentials), outside production, are answered by the simulators. */
export function providersToSimulate<L extends readonly Provider[]> (config: Config<ConfigsOf<L>>, providers: L): Array<L[number]['name']> {
  if (config.production) return []
  const sections = config.providers as Record<string, unknown>
  const accounts = config.accounts as Record<string, Record<string, unknown> | undefined>
  const hasAccounts = (provider: Provider): boolean => provider.config.isConfigured(sections[provider.name]) || Object.keys(accounts[provider.name] ?? {}).length > 0
  return providers.filter((provider) => !hasAccounts(provider)).map((provider) => provider.name)
}

export interface RunningSimulators<L extends readonly Provider[], C> {
  /** Each provider's simulator, by provider name. */
  simulators: SimulatorsOf<L>
  /** The configuration with the simulated providers pointed at their simulators. */
  config: C
  close: () => Promise<void>
}

/** Starts the simulators of `providers` and points `config` at them. */
export async function startSimulators<L extends readonly Provider[], C extends Config<ConfigsOf<L>>> (config: C, providers: L, options: SimulatorOptions = {}): Promise<RunningSimulators<L, C>> {
  const simulators: Record<string, Awaited<ReturnType<Provider['simulator']['start']>>> = {}
  const sections: Record<string, unknown> = { ...config.providers }
  for (const provider of providers) {
    const simulator = await provider.simulator.start(options)
    simulators[provider.name] = simulator
    sections[provider.name] = simulator.configure(sections[provider.name])
  }
  return {
    simulators: simulators as SimulatorsOf<L>,
    config: { ...config, providers: sections },
    close: async () => { await Promise.all(Object.values(simulators).map(async (simulator) => { await simulator.close() })) }
  }
}
