/**
 * Inbound API keys: `X-API-Key: <key>` or `Authorization: Bearer <key>`,
 * compared in constant time. A verified key becomes the request's caller
 * (the key's name), which the inbound limit, the upstream shares, the log
 * line and the metrics reuse: the key is hashed once per request, and no
 * key material goes further. The app adds the hook only when keys are configured.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { ApiKey } from '../src/config.js'
import { UnauthorizedError } from '../src/errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for routes that need a gateway API key. */
    verifyApiKey: (request: FastifyRequest) => Promise<void>
  }
  interface FastifyRequest {
    /** The verified key's name; '' when the gateway has no keys (or before the check). */
    caller: string
  }
}

const digest = (key: string): Buffer => createHash('sha256').update(key).digest()

/** The key a request presents, if any. */
export function presentedKey (request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
}

export default fp<{ apiKeys: ApiKey[] }>(async function auth (fastify, options) {
  // Equal-length digests make timingSafeEqual applicable to keys of any length.
  const known = options.apiKeys.map(({ name, key }) => ({ name, digest: digest(key) }))
  fastify.decorateRequest('caller', '')
  fastify.decorate('verifyApiKey', async (request: FastifyRequest) => {
    const key = presentedKey(request)
    if (key === undefined) throw new UnauthorizedError('Send a gateway API key as `X-API-Key: <key>` or `Authorization: Bearer <key>`.')
    const presented = digest(key)
    let caller = ''
    // Every key is compared, matched or not, so the time taken says nothing about which matched.
    for (const entry of known) if (timingSafeEqual(presented, entry.digest) && caller === '') caller = entry.name
    if (caller === '') throw new UnauthorizedError('The API key is not valid for this gateway.')
    request.caller = caller
  })
}, { name: 'auth' })
