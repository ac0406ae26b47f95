/**
 * Child process of the benchmark: the upstreams, apart from the gateway.
 * The project's simulators, behind a stand-in that answers any build id
 * with the simulator's build report (the simulator knows three builds; the
 * benchmark asks for 200). Prints one JSON line: where, and how to sign in.
 */
import Fastify from 'fastify'
import { request } from 'undici'
import { loadConfig, providers } from '../providers/index.js'
import { startSimulators } from '../src/simulators.js'

const KNOWN_BUILD = 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
const sims = await startSimulators(loadConfig({}), providers)
const { apple, gupshup } = sims.simulators
const token = await apple.token()
const buildReport = await (await fetch(`${apple.baseUrl}/v1/builds/${KNOWN_BUILD}/metrics/betaBuildUsages`, { headers: { authorization: `Bearer ${token}` } })).text()

const front = Fastify({ logger: false })
front.get('/v1/builds/:id/metrics/betaBuildUsages', async (_request, reply) => await reply.type('application/json').send(buildReport))
front.get('/*', async (incoming, reply) => {
  const upstream = await request(apple.baseUrl + incoming.url, { headers: { authorization: incoming.headers.authorization ?? '' } })
  return await reply.code(upstream.statusCode).type(String(upstream.headers['content-type'])).send(await upstream.body.text())
})
const appleBaseUrl = await front.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ appleBaseUrl, gupshupBaseUrl: gupshup.baseUrl, credentials: apple.credentials, token })}\n`)
process.on('SIGTERM', () => { Promise.all([front.close(), sims.close()]).then(() => process.exit(0), () => process.exit(1)) })
