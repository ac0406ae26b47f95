/**
 * Starts the gateway: reads the configuration, starts the upstream
 * simulators for providers without credentials (outside production),
 * listens, and shuts down gracefully on SIGTERM/SIGINT (README, Operations):
 * readiness fails at once, the listener keeps answering for
 * SHUTDOWN_DRAIN_MS, then in-flight requests get SHUTDOWN_GRACE_MS to finish.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import { buildApp, bufferedStdout } from './app.js'
import { loadConfig, providers, type GatewayConfig } from '../providers/index.js'
import { startMetricsServer } from '../plugins/metrics.js'
import { ConfigError } from '../src/config.js'
import { providersToSimulate, startSimulators } from '../src/simulators.js'

// Installed first: a SIGHUP during start-up (Node's default would end the process) waits for the app, then reloads.
const reload: { run?: () => void, wanted: boolean } = { wanted: false }
process.on('SIGHUP', () => {
  if (reload.run === undefined) reload.wanted = true
  else reload.run()
})

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

const logDestination = bufferedStdout()
// Whatever ends the process, buffered log lines are written first.
process.on('exit', () => { logDestination.flushSync() })
// A quiet gateway's lines do not wait for the buffer to fill.
setInterval(() => { logDestination.flush() }, 1000).unref()

const app = await buildApp({ config, simulated: simulate }, { logStream: logDestination })
if (simulators !== undefined) {
  const baseUrls = Object.fromEntries(Object.entries(simulators.simulators).map(([name, simulator]) => [name, simulator.baseUrl]))
  app.log.warn({ simulated: simulate, ...baseUrls },
    `DEMO MODE: no credentials for ${simulate.join(' and ')}; answering from the built-in simulators with made-up data`)
}

// Node closes sockets over the cap at once; each is logged (at most once a second) and counted.
const { maxConnections, shutdownDrainMs, shutdownGraceMs } = config.server
app.server.maxConnections = maxConnections
let lastRefusalLog = 0
app.server.on('drop', () => {
  app.gatewayMetrics.connectionRefused()
  if (Date.now() - lastRefusalLog < 1000) return
  lastRefusalLog = Date.now()
  app.log.warn({ maxConnections }, 'connection refused: MAX_CONNECTIONS sockets are open')
})

// SIGHUP re-reads ACCOUNTS_FILE (keys and accounts); a bad file keeps the previous configuration.
reload.run = () => { app.reloadAccounts() }
if (reload.wanted) reload.run()

let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined
// A margin over drain + grace: close-with-grace exits 1 only if the close itself hangs.
// SIGHUP is skipped: it reloads the accounts (above), where close-with-grace would shut down.
closeWithGrace({ delay: shutdownDrainMs + shutdownGraceMs + 2_000, skip: ['SIGHUP'] }, async ({ signal, err }) => {
  app.shutdown.draining = true
  if (err !== undefined) {
    app.log.error({ err }, 'closing after an error')
  } else if (signal === 'SIGTERM') {
    app.log.info({ signal, drainMs: shutdownDrainMs, graceMs: shutdownGraceMs }, 'closing: readiness fails now; answering while the load balancer drains')
    await sleep(shutdownDrainMs)
  } else {
    // Ctrl-C at a terminal: no load balancer to wait for.
    app.log.info({ signal, graceMs: shutdownGraceMs }, 'closing')
  }
  // In-flight requests get the grace; sockets still open after it are cut so the process can exit.
  const cut = setTimeout(() => {
    app.log.warn('grace over: closing the remaining connections')
    app.server.closeAllConnections()
  }, shutdownGraceMs)
  await app.close()
  clearTimeout(cut)
  await metricsServer?.close()
  await simulators?.close()
  logDestination.flushSync()
})

await app.listen({ host: config.host, port: config.port })
logDestination.flush()
if (config.metrics.port !== undefined) {
  metricsServer = await startMetricsServer(app, { host: config.host, port: config.metrics.port, apiKey: config.metrics.apiKey })
  app.log.info({ metrics: `${metricsServer.url}/metrics` }, 'metrics served on their own port')
}
