/**
 * GET /usage: what this deployment can answer, as the caller's API key sees
 * it (only the providers and accounts it may use). Internal apps and the
 * Swagger UI discover the API from it.
 */
import type { FastifyPluginAsync } from 'fastify'
import { Type, type TObject, type TSchema } from 'typebox'
import type { Config } from '../src/config.js'
import { Grants } from '../src/accounts/grants.js'
import { withAccountParam, withLabelsParam } from '../src/directory.js'
import type { DirectoryEndpoint, EndpointRow, ReportEndpoint } from '../src/endpoint.js'
import type { Provider } from '../src/provider.js'
import { providerNameSchema } from '../src/report.js'

const Parameter = Type.Object({
  name: Type.String(),
  in: Type.Union([Type.Literal('path'), Type.Literal('query')]),
  required: Type.Boolean(),
  description: Type.String(),
  schema: Type.Object({}, { additionalProperties: true, description: 'The JSON Schema the value must meet.' })
})

const catalogSchema = (providerNames: readonly string[]): TSchema => Type.Object({
  providers: Type.Array(Type.Object({
    name: providerNameSchema(providerNames),
    status: Type.Union([Type.Literal('configured'), Type.Literal('simulated'), Type.Literal('not_configured')], {
      description: '`simulated`: answered by the built-in simulators (demo mode); `not_configured`: its routes answer 503.'
    }),
    accounts: Type.Array(Type.String(), {
      description: "The provider's accounts this API key may use (`account=`), in the order an owner is looked for; `default` is the environment's credentials."
    }),
    reports: Type.Array(Type.Object({
      report: Type.String(),
      route: Type.String({ description: 'OpenAPI-style path template.' }),
      summary: Type.String(),
      subject: Type.String(),
      upstream: Type.String(),
      paged: Type.Boolean(),
      parameters: Type.Array(Parameter),
      metrics: Type.Array(Type.Object({
        name: Type.String(),
        upstream: Type.String(),
        unit: Type.String({ description: '`count`, `ratio`, or `currency` (the report says which ISO 4217 code).' }),
        additive: Type.Boolean({ description: 'Summed into `totals`.' }),
        rollup: Type.Union([Type.Literal('sum'), Type.Literal('last'), Type.Literal('max')], {
          description: 'How its days roll up into a week or month (`granularity`): `sum`; `last`, the bucket\'s last day that has one (a running total); `max` (a cap).'
        })
      })),
      cacheTtlSeconds: Type.Integer({ description: 'Freshness of a cached answer (of a recent day, where days settle).' }),
      settledCacheTtlSeconds: Type.Optional(Type.Integer({ description: 'Freshness once the days covered are two or more days past (Gupshup).' }))
    })),
    directories: Type.Array(Type.Object({
      directory: Type.String({ description: '`apps`, `builds`, `betaGroups`: the ids the reports take, with their names.' }),
      route: Type.String({ description: 'OpenAPI-style path template.' }),
      summary: Type.String(),
      subject: Type.Union([Type.String(), Type.Null()]),
      upstream: Type.String(),
      paged: Type.Boolean(),
      parameters: Type.Array(Parameter),
      cacheTtlSeconds: Type.Integer()
    }))
  }))
}, { $id: 'Catalog', title: 'Catalog' })

function parametersOf (params: Pick<EndpointRow, 'params' | 'querystring'>): Array<Record<string, unknown>> {
  const list = (schema: TObject, place: 'path' | 'query'): Array<Record<string, unknown>> =>
    Object.entries(schema.properties as Record<string, TSchema & { description?: string }>).map(([name, property]) => ({
      name,
      in: place,
      required: place === 'path' || (schema.required ?? []).includes(name),
      description: property.description ?? '',
      schema: Object.fromEntries(Object.entries(property).filter(([key]) => key !== 'description' && key !== 'examples'))
    }))
  return [...list(params.params, 'path'), ...list(params.querystring, 'query')]
}

export interface CatalogOptions {
  config: Config
  providers: readonly Provider[]
  simulated: readonly string[]
}

const catalogRoutes: FastifyPluginAsync<CatalogOptions> = async (fastify, { config, providers, simulated }) => {
  const status = (provider: Provider): 'configured' | 'simulated' | 'not_configured' =>
    simulated.includes(provider.name) ? 'simulated' : fastify.accounts.names(provider.name).length > 0 ? 'configured' : 'not_configured'
  const ttl = (seconds: number): number => config.cache.ttlOverrideSeconds ?? seconds
  const reportsOf = (endpoints: readonly ReportEndpoint[]): unknown[] => endpoints.map((endpoint) => ({
    report: endpoint.report,
    route: config.routePrefix + endpoint.route.replace(/:(\w+)/g, '{$1}'),
    summary: endpoint.summary,
    subject: endpoint.subject.type,
    upstream: endpoint.upstreamPath,
    paged: endpoint.paged,
    parameters: parametersOf({ params: endpoint.params, querystring: withLabelsParam(endpoint.querystring) }),
    metrics: endpoint.metrics.map(({ name, upstream, unit, additive, rollup }) => ({ name, upstream, unit, additive, rollup })),
    cacheTtlSeconds: ttl(endpoint.cache.ttlSeconds),
    ...(endpoint.cache.settledTtlSeconds === undefined ? {} : { settledCacheTtlSeconds: ttl(endpoint.cache.settledTtlSeconds) })
  }))
  const directoriesOf = (rows: readonly DirectoryEndpoint[]): unknown[] => rows.map((row) => ({
    directory: row.directory,
    route: config.routePrefix + row.route.replace(/:(\w+)/g, '{$1}'),
    summary: row.summary,
    subject: row.subject?.type ?? null,
    upstream: row.upstreamPath,
    paged: row.paged,
    parameters: parametersOf({ params: row.params, querystring: withAccountParam(row.querystring) }),
    cacheTtlSeconds: ttl(row.cache.ttlSeconds)
  }))
  // The routes do not change while the gateway runs: built once; the accounts (SIGHUP) and the key's view per request.
  const entries = providers.map((provider) => ({ provider, reports: reportsOf(provider.endpoints), directories: directoriesOf(provider.directories ?? []) }))
  fastify.addSchema(catalogSchema(providers.map((provider) => provider.name)))
  fastify.get('/usage', {
    schema: {
      tags: ['operations'],
      summary: 'What this deployment can answer: each provider, each report with its route, parameters, metrics and cache TTL, and its directories.',
      operationId: 'catalog',
      security: [{ apiKey: [] }, { bearer: [] }],
      response: { 200: { description: 'The catalog.', content: { 'application/json': { schema: Type.Ref('Catalog') } } } }
    }
  }, async (request) => {
    const grants = request.grants ?? Grants.everything
    return {
      providers: entries.filter(({ provider }) => grants.seesProvider(provider.name)).map(({ provider, reports, directories }) => ({
        name: provider.name,
        status: status(provider),
        accounts: fastify.accounts.names(provider.name).filter((account) => grants.mayUse(provider.name, account)),
        reports,
        directories
      }))
    }
  })
}

export default catalogRoutes
