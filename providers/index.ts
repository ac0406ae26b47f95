/**
 * THE provider registry: every provider the gateway serves, each one object
 * from its own folder. Adding a provider is a folder and a line here.
 */
import { loadConfig as loadConfigOf, type Config, type Env } from '../src/config.js'
import type { ConfigsOf } from '../src/provider.js'
import { apple } from './apple/index.js'
import { gupshup } from './gupshup/index.js'

export const providers = [apple, gupshup] as const

export type Providers = typeof providers
export type ProviderName = Providers[number]['name']
/** The configuration of a gateway serving the registry's providers. */
export type GatewayConfig = Config<ConfigsOf<Providers>>

/** The configuration from the environment, with a section for each provider of the registry. */
export function loadConfig (env: Env = process.env): GatewayConfig {
  return loadConfigOf(env, providers)
}
