/**
 * Builds the gateway the way server.ts does, against the real simulators on
 * loopback (or an undici MockAgent), with logs captured for inspection.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { tracingChannel } from 'node:diagnostics_channel'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { exportPKCS8, generateKeyPair, type CryptoKey } from 'jose'
import { Client, MockAgent, type Interceptable } from 'undici'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Dispatcher } from 'undici'
import { buildApp } from '../app/app.js'
import { loadConfig, providers, type GatewayConfig, type ProviderName, type Providers } from '../providers/index.js'
import type { Config } from '../src/config.js'
import type { Provider, SimulatorOptions, SimulatorsOf } from '../src/provider.js'
import { startSimulators } from '../src/simulators.js'

export interface Gateway<C extends Config = GatewayConfig> {
  app: FastifyInstance
  config: C
  /** Every log line written, parsed. */
  logs: Array<Record<string, unknown>>
  /** Every log line written, raw. */
  rawLogs: string[]
}

export interface SimulatedGateway extends Gateway {
  /** Each provider's simulator, by provider name. */
  sims: SimulatorsOf<Providers>
}

export interface GatewayOptions {
  env?: Record<string, string>
  dispatcher?: Dispatcher
  now?: () => number
}

export async function gateway<C extends Config = GatewayConfig> (t: Test, options: GatewayOptions & { config?: C, simulated?: readonly ProviderName[], providers?: readonly Provider[] } = {}): Promise<Gateway<C>> {
  const config = options.config ?? loadConfig({ LOG_LEVEL: 'info', ...options.env }) as Config as C
  const rawLogs: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      rawLogs.push(...chunk.toString().split('\n').filter((line) => line !== ''))
      done()
    }
  })
  const app = await buildApp({ config, providers: options.providers, dispatcher: options.dispatcher, now: options.now, simulated: options.simulated, env: options.env }, { logStream: stream })
  t.teardown(async () => { await app.close() })
  return {
    app,
    config,
    rawLogs,
    get logs () { return rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>) }
  }
}

/** Every provider of the registry answered by its simulator, with `env` for the rest. */
export async function simulated (t: Test, env: Record<string, string> = {}, options: SimulatorOptions = {}): Promise<{ config: GatewayConfig, sims: SimulatorsOf<Providers> }> {
  const running = await startSimulators(loadConfig({ LOG_LEVEL: 'info', ...env }), providers, options)
  t.teardown(running.close)
  return { config: running.config, sims: running.simulators }
}

/** Every provider's simulator, closed after the test. */
export async function startSims (t: Test, options: SimulatorOptions = {}): Promise<SimulatorsOf<Providers>> {
  return (await simulated(t, {}, options)).sims
}

/** `config` with every provider pointed at its running simulator. */
export function simulatedConfig (config: GatewayConfig, sims: SimulatorsOf<Providers>): GatewayConfig {
  const running = sims as Record<string, { configure: (section: unknown) => unknown }>
  const sections = config.providers as Record<string, unknown>
  return { ...config, providers: Object.fromEntries(providers.map(({ name }) => [name, running[name].configure(sections[name])])) as GatewayConfig['providers'] }
}

/** The gateway in demo mode: every provider answered by its simulator. */
export async function simulatedGateway (t: Test, options: GatewayOptions & SimulatorOptions = {}): Promise<SimulatedGateway> {
  const { config, sims } = await simulated(t, options.env, { style: options.style, now: options.now })
  // Object.assign, not a spread: `logs` stays a live getter.
  return Object.assign(await gateway(t, { ...options, config, simulated: providers.map((provider) => provider.name) }), { sims })
}

export const APPLE_APP = '6447306070'
export const APPLE_SMALL_APP = '6448250830'
export const APPLE_BUILD = 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
export const GUPSHUP_APP = 'bf9ee64c-3d4d-4ac4-8668-732e577007c4'

export const APPLE_ORIGIN = 'https://api.appstoreconnect.apple.com'
export const GUPSHUP_ORIGIN = 'https://partner.gupshup.io'
export const GUPSHUP_TOKEN = 'sk_test_gupshup_app_token_0123456789'

export interface MockedGateway extends Gateway {
  mock: MockAgent
  apple: Interceptable
  gupshup: Interceptable
  applePrivateKeyPem: string
}

/** A fresh App Store Connect-style key: EC P-256, PKCS#8 PEM. */
export async function appleKeyPair (): Promise<{ privateKeyPem: string, publicKey: CryptoKey }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKeyPem: await exportPKCS8(privateKey), publicKey }
}

/** The gateway with real-host configuration, every upstream call answered by undici's MockAgent. */
export async function mockedGateway (t: Test, options: GatewayOptions = {}): Promise<MockedGateway> {
  const mock = new MockAgent()
  mock.disableNetConnect()
  t.teardown(async () => { await mock.close() })
  const { privateKeyPem } = await appleKeyPair()
  const env = {
    APPLE_ISSUER_ID: '57246542-96fe-1a63-e053-0824d011072a',
    APPLE_KEY_ID: '2X9R4HXF34',
    APPLE_PRIVATE_KEY: privateKeyPem,
    GUPSHUP_APP_TOKENS: JSON.stringify({ [GUPSHUP_APP]: GUPSHUP_TOKEN }),
    ...options.env
  }
  const gw = await gateway(t, { ...options, env, dispatcher: mock })
  return Object.assign(gw, { mock, apple: mock.get(APPLE_ORIGIN), gupshup: mock.get(GUPSHUP_ORIGIN), applePrivateKeyPem: privateKeyPem })
}

export const JSON_HEADERS = { 'content-type': 'application/json' }

export function fixture (name: string): unknown {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8'))
}

/** A stand-in upstream on loopback, answering with `handler`; closed (with its sockets) after the test. */
export async function loopbackUpstream (t: Test, handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Apple credentials (a fresh key) for a gateway pointed at `baseUrl`. */
export async function appleEnv (baseUrl: string): Promise<Record<string, string>> {
  const { privateKeyPem } = await appleKeyPair()
  return { APPLE_KEY_ID: 'K1', APPLE_ISSUER_ID: 'I1', APPLE_PRIVATE_KEY: privateKeyPem, APPLE_BASE_URL: baseUrl }
}

/** A TCP port free on loopback right now (for a server the test starts, such as redis-server). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface Answer { statusCode: number, headers: Record<string, unknown>, body: string }

/** Route handlers Fastify has run in this process (counted once a test asks over HTTP): the full path runs one per request, the short cut none. */
let handlersRun: number | undefined

function countHandlers (): void {
  if (handlersRun !== undefined) return
  handlersRun = 0
  tracingChannel('fastify.request.handler').subscribe({ start: () => { handlersRun = (handlersRun ?? 0) + 1 }, end () {}, asyncStart () {}, asyncEnd () {}, error () {} })
}

/** Asks the listening gateway over HTTP on one keep-alive connection per key, as a service would. */
export async function overHttp (t: Test, app: FastifyInstance): Promise<{ address: string, get: (asked: { url: string, headers: Record<string, string> }) => Promise<Answer & { fullPath: boolean }> }> {
  countHandlers()
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const clients = new Map<string, Client>()
  t.teardown(async () => { await Promise.all([...clients.values()].map(async (client) => { await client.close() })) })
  return {
    address,
    get: async ({ url, headers }) => {
      const key = headers['x-api-key'] ?? ''
      let client = clients.get(key)
      if (client === undefined) clients.set(key, client = new Client(address, { pipelining: 1 }))
      const before = handlersRun ?? 0
      const res = await client.request({ method: 'GET', path: url, headers })
      return { statusCode: res.statusCode, headers: res.headers, body: await res.body.text(), fullPath: (handlersRun ?? 0) > before }
    }
  }
}

/** A real redis-server on `port` (Debian's package, which .ci/run installs), once it answers a ping. */
export async function startRedis (port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const client = new Redis({ port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null })
  // Refused until redis-server has bound its port: expected, and retried every 50 ms until the ping answers.
  client.on('error', () => {})
  await client.connect().catch(() => {})
  await client.ping()
  client.disconnect()
  return child
}

export async function stopRedis (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  child.kill('SIGKILL')
  await once(child, 'exit')
}
