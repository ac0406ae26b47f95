/**
 * Child process of the benchmark: the gateway (demo mode, simulators as
 * upstreams) and a bare Fastify route that returns the same body, so both
 * are measured in one process with the same settings.
 */
import Fastify from 'fastify'
import { buildApp } from '../app/app.js'
import { loadConfig, providers } from '../providers/index.js'
import { startSimulators } from '../src/simulators.js'

const PATH = '/usage/apple/builds/ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
const sims = await startSimulators(loadConfig({ LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000', CACHE_TTL_SECONDS: '86400' }), providers)
const { config } = sims
const gateway = await buildApp({ config }, { logStream: { write: () => {} } })
const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 })
const body = await (await fetch(gatewayUrl + PATH)).text()

const bare = Fastify({ logger: false })
bare.get(PATH, async (_request, reply) => await reply.type('application/json; charset=utf-8').send(body))
// CPU time of this process (both servers): the benchmark reads it around each run.
bare.get('/cpu', async () => { const { user, system } = process.cpuUsage(); return { micros: user + system } })
const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })

process.stdout.write(`${JSON.stringify({ gateway: gatewayUrl + PATH, bare: bareUrl + PATH, cpu: `${bareUrl}/cpu`, bytes: Buffer.byteLength(body) })}\n`)
process.on('SIGTERM', () => { Promise.all([gateway.close(), bare.close(), sims.close()]).then(() => process.exit(0), () => process.exit(1)) })
