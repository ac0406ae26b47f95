/**
 * Inbound API keys: `X-API-Key: <key>` or `Authorization: Bearer <key>`,
 * compared in constant time. The app adds the hook only when keys are configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../src/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for routes that need a gateway API key. */
    verifyApiKey: (request: FastifyRequest) => Promise<void>
  }
}

const digest = (key: string): Buffer => createHash('sha256').update(key).digest()

/** The key a request presents, if any. */
export function presentedKey (request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
}

export default fp<{ apiKeys: string[] }>(async function auth (fastify, options) {
  // Equal-length digests make timingSafeEqual applicable to keys of any length.
  const digests = options.apiKeys.map(digest)
  fastify.decorate('verifyApiKey', async (request: FastifyRequest) => {
    const key = presentedKey(request)
    if (key === undefined) throw new UnauthorizedError('Send a gateway API key as `X-API-Key: <key>` or `Authorization: Bearer <key>`.')
    const presented = digest(key)
    let match = false
    for (const known of digests) match = timingSafeEqual(presented, known) || match
    if (!match) throw new UnauthorizedError('The API key is not valid for this gateway.')
  })
}, { name: 'auth' })
