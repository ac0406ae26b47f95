/**
 * The typed client (clients/typescript/): its generated types match the spec,
 * its example consumer compiles (and a wrong call does not), and it calls a
 * running demo gateway on every operation of the spec.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import ts from 'typescript'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { dereference } from '@readme/openapi-parser'
import { CLIENT_TYPES_PATH, SPEC_PATH, generateClientTypes } from '../scripts/client-types.js'
import { createGatewayClient, GatewayProblem, type GatewayClient } from '../clients/typescript/index.js'
import { gatewayOf, idleTesters, weekOfMessages } from '../clients/typescript/example.js'
import { APPLE_BUILD, APPLE_SMALL_APP, GUPSHUP_APP, loopbackUpstream, simulatedGateway } from './helpers.js'

const root = new URL('../', import.meta.url)
const KEY = 'client-test-key-0123456789'

/** A demo gateway with an API key, listening on loopback, and a client of it holding the key. */
async function listeningGateway (t: Test, env: Record<string, string> = {}): Promise<{ baseUrl: string, gateway: GatewayClient }> {
  const { app } = await simulatedGateway(t, { env: { GATEWAY_API_KEYS: KEY, ...env } })
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  return { baseUrl, gateway: createGatewayClient({ baseUrl, apiKey: KEY }) }
}

t.test('the committed client types are what openapi-typescript makes of the committed spec (run `npm run client`)', async (t) => {
  const committed = await readFile(new URL(CLIENT_TYPES_PATH, root), 'utf8')
  t.equal(committed, await generateClientTypes(await readFile(new URL(SPEC_PATH, root), 'utf8')))
})

const compilerOptions = ((): ts.CompilerOptions => {
  const config = ts.readConfigFile(fileURLToPath(new URL('tsconfig.test.json', root)), ts.sys.readFile)
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, fileURLToPath(root))
  return { ...options, noEmit: true, incremental: false }
})()

/** Type-checks each text as a file of clients/typescript/ (by name), in one program with the project's compiler options. */
function diagnosticsOf (texts: Record<string, string>): Record<string, string[]> {
  const pathOf = (name: string): string => fileURLToPath(new URL(`clients/typescript/${name}`, root))
  const files = new Map(Object.entries(texts).map(([name, text]) => [pathOf(name), text]))
  const host = ts.createCompilerHost(compilerOptions)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, language, ...rest) => {
    const text = files.get(fileName)
    return text === undefined ? getSourceFile(fileName, language, ...rest) : ts.createSourceFile(fileName, text, language)
  }
  const program = ts.createProgram([...files.keys()], compilerOptions, host)
  const messages = (file: string): string[] => ts.getPreEmitDiagnostics(program, program.getSourceFile(file))
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))
  return Object.fromEntries(Object.keys(texts).map((name) => [name, messages(pathOf(name))]))
}

t.test('the example consumer type-checks; a wrong route, a missing or misspelt parameter, a wrong field do not', async (t) => {
  const example = await readFile(new URL('clients/typescript/example.ts', root), 'utf8')
  const call = "const answer = await gateway.GET('/usage/gupshup/apps/{appId}', " +
    "{ params: { path: { appId: 'a' }, query: { from: 'x', to: 'y' } } })"
  const consumer = (line: string): string =>
    `import { gatewayOf } from './example.js'\nconst gateway = gatewayOf({})\n${line}\nexport const totals = answer.data.totals\n`
  const mistakes: Array<[string, string]> = [
    ['an unknown route', call.replace('/usage/gupshup/apps/{appId}', '/usage/gupshup/app/{appId}')],
    ['a missing required query parameter', call.replace(", to: 'y'", '')],
    ['a misspelt query parameter', call.replace('from:', 'frm:')],
    ['a missing path parameter', call.replace("path: { appId: 'a' }, ", '')],
    ['a field the report has not', `${call}\nexport const total = answer.data.total`],
    ['a number where the spec says string', call.replace("appId: 'a'", 'appId: 1')]
  ]
  const diagnostics = diagnosticsOf({
    'example.ts': example,
    'consumer.ts': consumer(call),
    ...Object.fromEntries(mistakes.map(([, line], index) => [`mistake-${index}.ts`, consumer(line)]))
  })
  t.same(diagnostics['example.ts'], [], 'the example compiles as it is')
  t.same(diagnostics['consumer.ts'], [], 'the call the mistakes alter compiles')
  mistakes.forEach(([mistake], index) => {
    const errors = diagnostics[`mistake-${index}.ts`]
    t.ok(errors.length > 0, `${mistake} does not compile: ${errors[0]?.split('\n')[0]}`)
  })
})

t.test('the README shows the example consumer as it is tested', async (t) => {
  const readme = await readFile(new URL('README.md', root), 'utf8')
  const example = await readFile(new URL('clients/typescript/example.ts', root), 'utf8')
  const section = readme.slice(readme.indexOf('## Calling from an internal app'))
  t.ok(section.includes(`\`\`\`ts\n${example}\`\`\``), 'README.md, "Calling from an internal app", holds clients/typescript/example.ts verbatim')
})

interface SpecOperation {
  operationId?: string
  parameters?: Array<{ name: string, in: string, required?: boolean, example?: unknown }>
  responses: Record<string, { content?: Record<string, { schema?: object }> }>
}

t.test('the client calls a running demo gateway on every operation of the spec, with its example parameters', async (t) => {
  const spec = await dereference(JSON.parse(await readFile(new URL(SPEC_PATH, root), 'utf8')))
  const ajv = new Ajv({ strict: false })
  addFormats.default(ajv)
  const { gateway } = await listeningGateway(t)
  // Typed by route for people; here the routes come from the spec, so the call is untyped on purpose.
  const get = gateway.GET as (path: string, init: object) => Promise<{ data: unknown, response: Response }>
  const paths = spec.paths as Record<string, { get?: SpecOperation }>
  const operations = Object.entries(paths).flatMap(([path, item]) => item.get === undefined ? [] : [{ path, operation: item.get }])
  t.ok(operations.length >= 12, `${operations.length} operations`)
  for (const { path, operation } of operations) {
    const params: Record<'path' | 'query', Record<string, unknown>> = { path: {}, query: {} }
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in !== 'path' && parameter.in !== 'query') continue
      if (parameter.example !== undefined) params[parameter.in][parameter.name] = parameter.example
      else if (parameter.required === true) t.fail(`${path}: required ${parameter.in} parameter '${parameter.name}' has no example`)
    }
    const json = operation.responses['200']?.content?.['application/json']
    const { data, response } = await get(path, { params, parseAs: json === undefined ? 'text' : 'json' })
    t.equal(response.status, 200, `${path} (${operation.operationId ?? 'no operationId'}) answers 200`)
    if (json?.schema !== undefined) {
      t.ok(ajv.validate(json.schema, data), `${path}: the answer has the documented shape ${ajv.errorsText()}`)
    } else {
      t.type(data, 'string', `${path}: the answer is read as text`)
      t.not(data, '', `${path}: and is not empty`)
    }
  }
})

t.test('the example consumer answers from a running demo gateway', async (t) => {
  const { baseUrl } = await listeningGateway(t, { GATEWAY_RATE_LIMIT_PER_MINUTE: '4' })
  const gateway = gatewayOf({ USAGE_GATEWAY_URL: baseUrl, USAGE_GATEWAY_KEY: KEY })
  const week = await weekOfMessages(gateway, GUPSHUP_APP, new Date())
  t.match(week, { incoming: Number, outgoing: Number, fees: Number, currency: 'USD', cache: 'MISS' })
  t.ok(week !== undefined && week.incoming + week.outgoing > 0, 'the demo app sent and received messages')
  t.same(await weekOfMessages(gateway, GUPSHUP_APP, new Date()), { ...week, cache: 'HIT' }, 'the same week again comes from the cache')
  const idle = await idleTesters(gateway, APPLE_SMALL_APP)
  t.ok(idle.every((id) => /^[0-9a-f-]{36}$/.test(id)), 'tester ids')
  const { data } = await gateway.GET('/usage/apple/apps/{appId}/beta-testers', {
    params: { path: { appId: APPLE_SMALL_APP }, query: { period: 'P30D', limit: 200 } }
  })
  t.same(idle, data.data.filter((point) => point.metrics.sessions === 0).map((point) => point.dimensions.betaTester))

  // The fifth request of the minute, over GATEWAY_RATE_LIMIT_PER_MINUTE: the example waits rather than fails.
  t.equal(await weekOfMessages(gateway, GUPSHUP_APP, new Date()), undefined)
})

t.test('the example consumer passes on a problem other than a spent budget', async (t) => {
  const { baseUrl } = await listeningGateway(t)
  const gateway = gatewayOf({ USAGE_GATEWAY_URL: baseUrl, USAGE_GATEWAY_KEY: KEY })
  await t.rejects(weekOfMessages(gateway, 'no-such-app', new Date()), { name: 'GatewayProblem', status: 404 })
  await t.rejects(weekOfMessages(gatewayOf({ USAGE_GATEWAY_URL: baseUrl }), GUPSHUP_APP, new Date()), { status: 401, code: 'unauthorized' })
})

t.test('CSV through the client: parseAs text with Accept: text/csv', async (t) => {
  const { gateway } = await listeningGateway(t)
  const params = { path: { appId: GUPSHUP_APP }, query: { year: '2026', month: '02' } }
  const { data, response } = await gateway.GET('/usage/gupshup/apps/{appId}/discount', { params, headers: { accept: 'text/csv' }, parseAs: 'text' })
  t.match(response.headers.get('content-type'), /^text\/csv/)
  const rows = data.trim().split('\n')
  t.match(rows[0], /^start,end,/)
  const report = await gateway.GET('/usage/gupshup/apps/{appId}/discount', { params })
  t.ok(report.data.data.length > 0)
  t.equal(rows.length, 1 + report.data.data.length, 'a header and one row per point of the JSON report')
  t.equal(rows[1].split(',')[0], report.data.data[0].start)
})

t.test('a problem answer is thrown as a GatewayProblem with its status, code, detail and request id', async (t) => {
  const { baseUrl, gateway } = await listeningGateway(t, { GATEWAY_RATE_LIMIT_PER_MINUTE: '3' })
  const wrongKey = createGatewayClient({ baseUrl, apiKey: 'not-the-key-0123456789', headers: { 'x-request-id': 'app-request-1' } })
  const unauthorized = await wrongKey.GET('/usage/apple/builds/{buildId}', { params: { path: { buildId: APPLE_BUILD } } })
    .catch((error: unknown) => error)
  t.ok(unauthorized instanceof GatewayProblem)
  t.match(unauthorized, { name: 'GatewayProblem', status: 401, code: 'unauthorized', parameter: undefined, retryAfter: undefined })
  t.match(unauthorized, { requestId: 'app-request-1', message: /key/i, problem: { status: 401, code: 'unauthorized' } },
    'the request id the app sent comes back in the problem')

  await t.rejects(gateway.GET('/usage/apple/apps/{appId}/beta-testers', {
    params: { path: { appId: APPLE_SMALL_APP }, query: { limit: 500 } }
  }), { name: 'GatewayProblem', status: 400, code: 'invalid_parameter', parameter: 'limit', detail: /at most 200/ })

  await t.rejects(gateway.GET('/usage/apple/builds/{buildId}', { params: { path: { buildId: 'no-such-build' } } }),
    { status: 404, code: 'not_found' })

  // The third keyed request of the minute; the fourth is over the limit.
  const third = await gateway.GET('/usage/gupshup/apps/{appId}/wallet', { params: { path: { appId: GUPSHUP_APP } } })
  await t.rejects(gateway.GET('/usage/gupshup/apps/{appId}/wallet', {
    params: { path: { appId: GUPSHUP_APP } },
    headers: { 'if-none-match': third.response.headers.get('etag') ?? '' }
  }), { status: 429, code: 'rate_limited', retryAfter: Number })
})

t.test('a 304 to your own If-None-Match is thrown as not_modified', async (t) => {
  const { gateway } = await listeningGateway(t)
  const first = await gateway.GET('/usage/apple/builds/{buildId}', { params: { path: { buildId: APPLE_BUILD } } })
  const etag = first.response.headers.get('etag')
  t.ok(etag)
  await t.rejects(gateway.GET('/usage/apple/builds/{buildId}', {
    params: { path: { buildId: APPLE_BUILD } },
    headers: { 'if-none-match': etag ?? '' }
  }), { status: 304, code: 'not_modified', problem: undefined })
})

t.test('an answer that is not a problem (a proxy in front) is still a GatewayProblem, with Retry-After read', async (t) => {
  const retryAt = new Date(Date.now() + 120_000).toUTCString()
  const baseUrl = await loopbackUpstream(t, (request, response) => {
    if (request.url === '/health') {
      response.writeHead(503, { 'content-type': 'text/html', 'retry-after': retryAt }).end('<h1>Down for maintenance</h1>')
    } else {
      const headers = { 'content-type': 'application/json', 'retry-after': 'soon', 'x-request-id': 'front-7' }
      response.writeHead(502, headers).end('{"message":"bad gateway"}')
    }
  })
  const gateway = createGatewayClient({ baseUrl: `${baseUrl}/` })
  const down = await gateway.GET('/health').catch((error: unknown) => error)
  t.match(down, { status: 503, code: 'http_503', detail: 'HTTP 503 Service Unavailable', problem: undefined, requestId: undefined })
  const seconds = (down as GatewayProblem).retryAfter ?? 0
  t.ok(seconds > 0 && seconds <= 120, `Retry-After as an HTTP date is seconds from now (${seconds})`)
  await t.rejects(gateway.GET('/ready'), { status: 502, code: 'http_502', retryAfter: undefined, requestId: 'front-7' })
})
