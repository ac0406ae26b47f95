import { readFile } from 'node:fs/promises'
import t from 'tap'
import { validate } from '@readme/openapi-parser'
import { generateOpenApi } from '../app/openapi.js'
import { simulatedGateway } from './helpers.js'

t.test('the committed spec is what the code generates (run `npm run openapi` after changing a route)', async (t) => {
  const committed = await readFile(new URL('../openapi/openapi.json', import.meta.url), 'utf8')
  t.equal(committed, await generateOpenApi())
})

t.test('the spec is valid OpenAPI 3.1 and lists every route with its errors and examples', async (t) => {
  const spec = JSON.parse(await generateOpenApi())
  const result = await validate(structuredClone(spec))
  t.ok(result.valid, JSON.stringify(result))
  t.equal(spec.openapi, '3.1.0')
  for (const path of ['/usage/apple/builds/{buildId}', '/usage/apple/apps/{appId}/beta-testers', '/usage/gupshup/apps/{appId}']) {
    const get = spec.paths[path]?.get
    t.ok(get, path)
    t.ok(get.responses['200'].content['application/json'].examples.report.value, `${path}: 200 example`)
    t.ok(get.responses['200'].content['application/json'].examples.labelled.value.labels, `${path}: 200 example with labels`)
    t.ok(get.parameters.some((parameter: { name: string }) => parameter.name === 'labels'), `${path}: takes labels`)
    for (const status of ['400', '401', '404', '429', '502', '503', '504']) {
      t.ok(get.responses[status].content['application/problem+json'].example, `${path}: ${status} example`)
    }
  }
  for (const path of ['/usage/apple/apps', '/usage/apple/apps/{appId}/builds', '/usage/apple/apps/{appId}/beta-groups', '/usage/gupshup/apps']) {
    const get = spec.paths[path]?.get
    t.equal(get?.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/Directory', `${path}: a Directory`)
    t.ok(get?.responses['200'].content['text/csv'].example, `${path}: CSV example`)
  }
  t.ok(spec.paths['/health'])
  t.notOk(spec.paths['/openapi.json'], 'the spec does not list itself')
})

t.test('/openapi.json serves the spec and /docs/ serves Swagger UI, without an API key', async (t) => {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: 'a-key-of-sixteen-chars' } })
  const spec = await app.inject('/openapi.json')
  t.equal(spec.statusCode, 200)
  t.equal(spec.json().openapi, '3.1.0')
  const docs = await app.inject('/docs/')
  t.equal(docs.statusCode, 200)
  t.match(docs.body, /swagger-ui/i)
  const health = await app.inject('/health')
  t.same(health.json(), { status: 'ok' })
})
