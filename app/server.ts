/**
 * Starts the gateway: reads the configuration, starts the upstream
 * simulators for providers without credentials (outside production),
 * listens, and closes gracefully on SIGTERM/SIGINT.
 */
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { providersToSimulate, simulatedConfig, startSimulators, type RunningSimulators } from './simulators/index.js'

let config: Config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  // One clear line, naming the variable, never its value.
  process.stderr.write(`${error.message}\n`)
  process.exit(1)
}

const simulate = providersToSimulate(config)
let simulators: RunningSimulators | undefined
if (simulate.length > 0) {
  simulators = await startSimulators()
  config = simulatedConfig(config, simulators, simulate)
}

const app = await buildApp({ config, simulated: simulate })
if (simulators !== undefined) {
  app.log.warn({ simulated: simulate, apple: simulators.appleBaseUrl, gupshup: simulators.gupshupBaseUrl },
    `DEMO MODE: no credentials for ${simulate.join(' and ')}; answering from the built-in simulators with made-up data`)
}

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
  await simulators?.close()
})

await app.listen({ host: config.host, port: config.port })
