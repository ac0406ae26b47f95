/**
 * Child process of the benchmark: a bare Fastify 5 route serving the body
 * the gateway serves for a cached build report, with the same content type,
 * at the same paths. BODY_FILE holds the body.
 */
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

const body = readFileSync(process.env.BODY_FILE ?? '', 'utf8')
const bare = Fastify({ logger: false })
bare.get('/usage/apple/builds/:id', async (_request, reply) => await reply.type('application/json; charset=utf-8').send(body))
const url = await bare.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ url })}\n`)
process.on('SIGTERM', () => { bare.close().then(() => process.exit(0), () => process.exit(1)) })
