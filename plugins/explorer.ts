/**
 * The usage explorer at /explorer/: the page `npm run build` bundles into
 * dist/explorer/www (explorer/build.ts), served by @fastify/static, and a
 * small JSON telling the page whether it must ask for an API key and where the
 * routes are. The page is open, like /docs/; the data it asks for is not.
 * A strict Content-Security-Policy keeps every request the page makes on the
 * gateway's own origin.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

export interface ExplorerOptions {
  /** ROUTE_PREFIX: the page is at `<routePrefix>/explorer/` (not `prefix`, which Fastify would apply once more). */
  routePrefix?: string
  /** Whether /usage needs an API key (the page then shows its key field). */
  apiKeyRequired: boolean
  /** The built page; by default dist/explorer/www, found from this file compiled or not. */
  root?: string
}

const here = new URL('.', import.meta.url)
const projectRoot = here.pathname.endsWith('/dist/plugins/') ? new URL('../../', here) : new URL('../', here)
export const BUILT_PAGE = fileURLToPath(new URL('dist/explorer/www/', projectRoot))

/** Only this origin: scripts, styles, data and images (the charts' canvas and the download links are blobs). */
export const EXPLORER_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data: blob:",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
].join('; ')

const explorer: FastifyPluginAsync<ExplorerOptions> = async (fastify, { routePrefix: prefix = '', apiKeyRequired, root = BUILT_PAGE }) => {
  if (!existsSync(`${root}/index.html`)) {
    fastify.log.warn(`the usage explorer is not built (npm run build): ${prefix}/explorer/ answers 404`)
    return
  }
  // Relative, so it holds behind a front that adds a path prefix of its own.
  fastify.get(`${prefix}/explorer`, { schema: { hide: true } }, async (_request, reply) => await reply.redirect('explorer/', 301))
  fastify.get(`${prefix}/explorer/config.json`, { schema: { hide: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return { apiKeyRequired, routePrefix: prefix }
  })
  await fastify.register(fastifyStatic, {
    root,
    prefix: `${prefix}/explorer/`,
    decorateReply: false,
    redirect: false,
    // The bundle's name does not change with its content: browsers check it again each time.
    cacheControl: true,
    maxAge: 0,
    setHeaders (response) {
      response.setHeader('content-security-policy', EXPLORER_CSP)
      response.setHeader('x-content-type-options', 'nosniff')
      response.setHeader('referrer-policy', 'no-referrer')
    }
  })
}

export default explorer
