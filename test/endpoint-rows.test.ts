/**
 * An endpoint row's upstream query mapping is tied to its querystring schema
 * by type: `npm run typecheck` fails on each `@ts-expect-error` line below if
 * the mistake it marks ever compiles.
 */
import t from 'tap'
import { Type } from 'typebox'
import { rowOf, upstreamQueryOf, type ReportEndpoint } from '../src/endpoint.js'

const row = rowOf<ReportEndpoint>()
const querystring = Type.Object({ from: Type.String(), limit: Type.Optional(Type.Integer()), all: Type.Optional(Type.Boolean()) })
const fields = {
  provider: 'example',
  key: 'example.report',
  report: 'report',
  route: '/usage/example/:id',
  summary: 'An example.',
  subject: { type: 'thing', param: 'id' },
  params: Type.Object({ id: Type.String() }),
  querystring,
  exampleId: 'thing-1',
  upstreamPath: '/things/{id}',
  paged: false,
  metrics: [],
  cache: { ttlSeconds: 60 }
}

t.test('every query parameter is mapped to its upstream name, or null when the gateway keeps it', async (t) => {
  const endpoint = row({ ...fields, query: { from: 'since', limit: 'page[size]', all: null } })
  t.equal(upstreamQueryOf(endpoint, { from: '2024-01-01', limit: 5, all: true }).toString(), 'since=2024-01-01&page%5Bsize%5D=5')

  // @ts-expect-error `limit` is not mapped
  row({ ...fields, query: { from: 'since', all: null } })
  // @ts-expect-error `form` is not a parameter of the querystring
  row({ ...fields, query: { form: 'since', from: 'since', limit: 'limit', all: null } })
  // @ts-expect-error a mapping names an upstream parameter (a string) or null
  row({ ...fields, query: { from: 1, limit: 'limit', all: null } })
})
