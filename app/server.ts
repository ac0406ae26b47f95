/**
 * Starts the gateway: reads the configuration, starts the upstream
 * simulators for providers without credentials (outside production),
 * listens, and closes gracefully on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { loadConfig, providers, type GatewayConfig } from '../providers/index.js'
import { ConfigError } from '../src/config.js'
import { providersToSimulate, startSimulators } from '../src/simulators.js'

let config: GatewayConfig
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  // One clear line, naming the variable, never its value.
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

const simulate = providersToSimulate(config, providers)
const simulators = simulate.length > 0 ? await startSimulators(config, providers.filter((provider) => simulate.includes(provider.name))) : undefined
if (simulators !== undefined) config = simulators.config

const app = await buildApp({ config, simulated: simulate })
if (simulators !== undefined) {
  const baseUrls = Object.fromEntries(Object.entries(simulators.simulators).map(([name, simulator]) => [name, simulator.baseUrl]))
  app.log.warn({ simulated: simulate, ...baseUrls },
    `DEMO MODE: no credentials for ${simulate.join(' and ')}; answering from the built-in simulators with made-up data`)
}

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
  await simulators?.close()
})

await app.listen({ host: config.host, port: config.port })
