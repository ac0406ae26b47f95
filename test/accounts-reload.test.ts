/**
 * Issue 14, rotation in a real process: app/server.ts (as `npm start` runs
 * it) re-reads ACCOUNTS_FILE on SIGHUP under load without losing a request,
 * finishes a dropped account's call in flight, keeps the previous
 * configuration when the file is bad, and refuses a bad file at start-up
 * with one line on stderr. Upstreams are the Gupshup simulator and a slow
 * stand-in on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Agent, request } from 'undici'
import { createGupshupSimulator, GUPSHUP_DEMO_APPS, usageRows, type GupshupSimulator } from '../providers/gupshup/simulator.js'
import { GUPSHUP_APP, JSON_HEADERS, loopbackUpstream } from './helpers.js'

const SERVER = new URL('../app/server.ts', import.meta.url).pathname
const OTHER_APP = '5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6'
/** An app only the `slow` account holds, answered by a stand-in that waits for the test. */
const SLOW_APP = '0a0b0c0d-1111-4222-8333-444455556666'
/** Waiting for a log line: generous, since the machine is shared; never an assertion about speed. */
const LOG_WAIT_MS = 60_000

// Heavier than most: five gateway processes through the TypeScript loader, on a shared two-core machine.
t.setTimeout(300_000)

const sha256 = (key: string): string => createHash('sha256').update(key).digest('hex')
const newKey = (): string => `gw_${randomBytes(16).toString('hex')}`
const newToken = (): string => `sk_${randomBytes(16).toString('hex')}`
const as = (key: string): Record<string, string> => ({ 'x-api-key': key })
const daily = (app: string, query = 'from=2024-01-01&to=2024-01-07'): string => `/usage/gupshup/apps/${app}?${query}`

interface Running {
  child: ChildProcess
  address: string
  /** Everything written to stdout so far (the JSON log). */
  log: () => string
  /** The log lines so far, parsed. */
  lines: () => Array<Record<string, unknown>>
  exit: Promise<number | null>
  /** Resolves with the `count`-th log line (1-based) that `match` accepts, once it is written. */
  line: (match: (line: Record<string, unknown>) => boolean, count?: number) => Promise<Record<string, unknown>>
}

/** The environment of the test runner without the gateway's own variables. */
function cleanEnv (): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(APPLE_|GUPSHUP_|GATEWAY_|METRICS_|ACCOUNTS_FILE|NODE_ENV|PORT|HOST)/.test(name)))
}

function parsed (log: string): Array<Record<string, unknown>> {
  return log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
}

/** app/server.ts through tap's TypeScript loader, listening on a free port; stopped after the test. */
async function startServer (t: Test, env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [...process.execArgv, SERVER], {
    env: { ...cleanEnv(), PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let log = ''
  const exit = once(child, 'exit').then(([code]) => code as number | null)
  child.stdout?.on('data', (chunk: Buffer) => { log += chunk.toString() })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await exit
  })
  const lines = (): Array<Record<string, unknown>> => parsed(log)
  const line = async (match: (line: Record<string, unknown>) => boolean, count = 1): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + LOG_WAIT_MS
    for (;;) {
      const found = lines().filter(match)
      if (found.length >= count) return found[count - 1]
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited before the log line came: ${log}`)
      if (Date.now() > deadline) throw new Error(`no such log line within ${LOG_WAIT_MS} ms: ${log}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const listening = await line((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('Server listening at http://127.0.0.1:'))
  const address = /(http:\/\/127\.0\.0\.1:\d+)/.exec(listening.msg as string)?.[1] as string
  return { child, address, log: () => log, lines, exit, line }
}

/** app/server.ts run to its end: exit code and both outputs. */
async function runToExit (env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [...process.execArgv, SERVER], { env: { ...cleanEnv(), PORT: '0', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}

/** The Gupshup simulator on loopback holding both demo apps, without its 10-a-minute limit (the load below would pass it). */
async function gupshupSim (t: Test): Promise<{ sim: GupshupSimulator, baseUrl: string, tokens: Record<string, string> }> {
  const tokens = Object.fromEntries(Object.keys(GUPSHUP_DEMO_APPS).map((appId) => [appId, newToken()]))
  const sim = createGupshupSimulator({
    apps: Object.fromEntries(Object.entries(GUPSHUP_DEMO_APPS).map(([appId, name]) => [appId, { name, token: tokens[appId] }])),
    perMinuteLimit: 1_000_000
  })
  const baseUrl = await sim.server.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await sim.server.close() })
  return { sim, baseUrl, tokens }
}

/** A scratch directory with each app's token file (`<app>.json`), and a writer for the accounts file in it. */
function scratch (tokens: Record<string, string>): { dir: string, path: string, tokenFile: (app: string) => string, write: (document: unknown) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'accounts-reload-'))
  const tokenFile = (app: string): string => join(dir, `${app}.json`)
  for (const [app, token] of Object.entries(tokens)) writeFileSync(tokenFile(app), JSON.stringify({ [app]: token }))
  const path = join(dir, 'accounts.json')
  return { dir, path, tokenFile, write: (document) => { writeFileSync(path, typeof document === 'string' ? document : JSON.stringify(document)) } }
}

const reloaded = (line: Record<string, unknown>): boolean => line.msg === 'accounts reloaded'
const refused = (line: Record<string, unknown>): boolean => line.msg === 'accounts not reloaded: the previous configuration stays'

async function get (address: string, path: string, key: string, dispatcher: Agent): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await request(`${address}${path}`, { headers: as(key), dispatcher })
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
}

t.test('SIGHUP under load: a key added, then the old one dropped; not one request lost, reset or failed', async (t) => {
  const { sim, baseUrl, tokens } = await gupshupSim(t)
  const { path, tokenFile, write } = scratch(tokens)
  const A = newKey()
  const B = newKey()
  const main = { appTokensPath: tokenFile(GUPSHUP_APP) }
  const finance = { appTokensPath: tokenFile(OTHER_APP) }
  write({ gupshup: { main }, apiKeys: { a: { sha256: sha256(A), scopes: ['*'] } } })
  const server = await startServer(t, {
    ACCOUNTS_FILE: path,
    GUPSHUP_BASE_URL: baseUrl,
    GUPSHUP_RATE_LIMIT_PER_MINUTE: '10000',
    GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000'
  })
  const agent = new Agent({ connections: 8 })
  t.teardown(async () => { await agent.close() })

  // Where the rotation stands; each request notes the phase it was sent in and the one it was answered in.
  // 0: before the first SIGHUP; 1: until its log line; 2: until the second SIGHUP; 3: until its log line; 4: after.
  let phase = 0
  const results: Array<{ sent: number, answered: number, status: number | string, code?: string, cache?: string, url?: string }> = []
  let uncachedDay = Date.parse('2023-12-31T00:00:00Z')
  let stop = false
  const going = (): boolean => !stop
  const loop = async (): Promise<void> => {
    for (let round = 0; going(); round++) {
      // A cached report and one of a day nobody has asked for yet, each in a month of its own (an upstream call), in turn.
      const day = new Date(uncachedDay -= 32 * 86_400_000).toISOString().slice(0, 10)
      const url = round % 2 === 0 ? daily(GUPSHUP_APP) : daily(GUPSHUP_APP, `from=${day}&to=${day}`)
      const sent = phase
      try {
        const res = await request(`${server.address}${url}`, { headers: as(A), dispatcher: agent })
        const { code } = await res.body.json() as { code?: string }
        results.push({ sent, answered: phase, status: res.statusCode, code, cache: res.headers['x-cache'] as string | undefined, url })
      } catch (error) {
        results.push({ sent, answered: phase, status: (error as { code?: string }).code ?? String(error) })
      }
    }
  }
  const answeredIn = async (wanted: number, count: number): Promise<void> => {
    while (results.filter((result) => result.sent === wanted).length < count) {
      if (server.child.exitCode !== null) throw new Error(`the server exited: ${server.log()}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const loops = Array.from({ length: 4 }, loop)
  // Whatever fails below, the loops stop with the test.
  t.teardown(async () => {
    stop = true
    await Promise.all(loops)
  })
  await answeredIn(0, 40)

  // Add key B and the account it may use; main's section is unchanged.
  write({ gupshup: { main, finance }, apiKeys: { a: { sha256: sha256(A), scopes: ['*'] }, b: { sha256: sha256(B), scopes: ['gupshup:finance'] } } })
  phase = 1
  server.child.kill('SIGHUP')
  const first = await server.line(reloaded)
  phase = 2
  await answeredIn(2, 40)
  const withB = await get(server.address, daily(OTHER_APP), B, agent)
  t.equal(withB.status, 200, 'B works after the first reload')
  t.equal(withB.body.account, 'finance')
  t.equal((await get(server.address, daily(GUPSHUP_APP), B, agent)).status, 404, "B sees only finance's apps")

  // Drop key A.
  write({ gupshup: { main, finance }, apiKeys: { b: { sha256: sha256(B), scopes: ['gupshup:finance'] } } })
  phase = 3
  server.child.kill('SIGHUP')
  const second = await server.line(reloaded, 2)
  phase = 4
  await answeredIn(4, 12)
  stop = true
  await Promise.all(loops)

  const before = results.filter((result) => result.answered <= 2)
  const straddling = results.filter((result) => result.answered > 2 && result.sent < 4)
  const after = results.filter((result) => result.sent === 4)
  t.same(before.filter((result) => result.status !== 200), [], `all ${before.length} requests answered before the second SIGHUP got a 200`)
  t.ok(results.some((result) => result.sent === 0 && result.answered >= 1) || results.some((result) => result.sent === 1),
    'some requests were in flight across the first reload')
  t.same(new Set(before.map((result) => result.cache)), new Set(['HIT', 'MISS']), 'cached reports and upstream calls alike')
  // Concurrent misses of one report share one upstream call: count the reports missed.
  t.ok(sim.calls.length >= new Set(before.filter((result) => result.cache === 'MISS').map((result) => result.url)).size, 'each report missed called the simulator')
  // A refused key counts as a failed check: after AUTH_FAILURES_PER_MINUTE in a row, the address is throttled (429).
  const refusedA = (result: { status: number | string, code?: string }): boolean =>
    (result.status === 401 && result.code === 'unauthorized') || (result.status === 429 && result.code === 'auth_throttled')
  t.same(straddling.filter((result) => result.status !== 200 && !refusedA(result)), [], 'those in flight across the second reload got a 200 or a refusal, nothing else')
  t.same(after.filter((result) => !refusedA(result)), [], 'A is refused after the second reload')
  t.match(results.find((result) => result.status !== 200), { status: 401, code: 'unauthorized' }, 'first with a 401')
  t.equal(server.child.exitCode, null, 'the process is still running')

  t.same(first.keys, ['a', 'b'], 'the reload line lists the key names')
  t.same(first.accounts, { apple: ['default'], gupshup: ['main', 'finance'] }, 'and the accounts')
  t.same(second.keys, ['b'])
  const everything = server.log()
  for (const secret of [A, B, sha256(A), sha256(B), ...Object.values(tokens)]) t.notOk(everything.includes(secret), 'no key, digest or token in the log')
})

t.test('an account dropped while its upstream call is in flight answers that request; then its app is unknown', async (t) => {
  const { baseUrl, tokens } = await gupshupSim(t)
  const { path, tokenFile, write } = scratch(tokens)
  const ops = newKey()
  let arrived = (): void => {}
  const calledUpstream = new Promise<void>((resolve) => { arrived = resolve })
  let release = (): void => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  let slowCalls = 0
  const slow = await loopbackUpstream(t, (req, res) => {
    slowCalls++
    arrived()
    const query = new URL(req.url ?? '/', 'http://upstream').searchParams
    const body = { status: 'success', partnerAppUsageList: usageRows(SLOW_APP, 'SlowApp', query.get('from') ?? '', query.get('to') ?? '', '2099-01-01') }
    released.then(() => res.writeHead(200, JSON_HEADERS).end(JSON.stringify(body)), () => {})
  })
  const main = { appTokensPath: tokenFile(GUPSHUP_APP) }
  const keys = { ops: { sha256: sha256(ops), scopes: ['*'] } }
  write({ gupshup: { main, slow: { appTokensEnv: 'SLOW_TOKENS', baseUrl: slow } }, apiKeys: keys })
  const server = await startServer(t, {
    ACCOUNTS_FILE: path,
    GUPSHUP_BASE_URL: baseUrl,
    SLOW_TOKENS: JSON.stringify({ [SLOW_APP]: newToken() }),
    // The dropped source is closed this long (plus a second) after the reload: well after the call is released.
    UPSTREAM_TIMEOUT_MS: '60000'
  })
  const agent = new Agent()
  t.teardown(async () => { await agent.close() })

  const inFlight = get(server.address, daily(SLOW_APP), ops, agent)
  await calledUpstream
  write({ gupshup: { main }, apiKeys: keys })
  server.child.kill('SIGHUP')
  t.same((await server.line(reloaded)).accounts, { apple: ['default'], gupshup: ['main'] }, 'slow is dropped')
  release()
  const answer = await inFlight
  t.equal(answer.status, 200, 'the request in flight on the dropped account is answered')
  t.equal(answer.body.account, 'slow')
  t.equal((answer.body.data as unknown[]).length > 0, true)

  for (const query of ['from=2024-01-01&to=2024-01-07', 'from=2024-02-01&to=2024-02-03']) {
    const later = await get(server.address, daily(SLOW_APP, query), ops, agent)
    t.equal(later.status, 404, `${query}: the dropped account's app is unknown, cached or not`)
    t.equal(later.body.code, 'unknown_app')
  }
  t.equal(slowCalls, 1, 'the dropped account is not called again')
  t.equal((await get(server.address, daily(GUPSHUP_APP), ops, agent)).status, 200, 'the account kept answers')
})

t.test('a bad file at reload keeps the previous keys and accounts, and logs one error naming the file and field, no value', async (t) => {
  const { baseUrl, tokens } = await gupshupSim(t)
  const { dir, path, tokenFile, write } = scratch(tokens)
  const A = newKey()
  const C = newKey()
  const inline = newToken()
  const main = { appTokensPath: tokenFile(GUPSHUP_APP) }
  const keyA = { a: { sha256: sha256(A), scopes: ['*'] } }
  const withC = { ...keyA, c: { sha256: sha256(C), scopes: ['*'] } }
  write({ gupshup: { main }, apiKeys: keyA })
  const server = await startServer(t, { ACCOUNTS_FILE: path, GUPSHUP_BASE_URL: baseUrl })
  const agent = new Agent()
  t.teardown(async () => { await agent.close() })
  t.equal((await get(server.address, daily(GUPSHUP_APP), A, agent)).status, 200)

  const cases: Array<[string, unknown, RegExp]> = [
    ['a secret inline', { gupshup: { main, finance: { appTokens: { [OTHER_APP]: inline } } }, apiKeys: withC },
      /gupshup\.finance\.appTokens is not a field \(secrets are never written inline/],
    ['a missing …Path file', { gupshup: { main, finance: { appTokensPath: join(dir, 'missing.json') } }, apiKeys: withC },
      /gupshup\.finance\.appTokensPath names a file that cannot be read/],
    ['invalid JSON', JSON.stringify({ apiKeys: withC, gupshup: { main } }).slice(0, -9), /is not valid JSON/]
  ]
  for (const [index, [name, document, reason]] of cases.entries()) {
    write(document)
    server.child.kill('SIGHUP')
    const line = await server.line(refused, index + 1)
    t.equal(line.level, 50, `${name}: an error line`)
    t.match(line.reason, reason, `${name}: says what is wrong`)
    t.ok((line.reason as string).startsWith(`Invalid configuration: ACCOUNTS_FILE (${path})`), `${name}: names the file`)
    const withA = await get(server.address, daily(GUPSHUP_APP), A, agent)
    t.equal(withA.status, 200, `${name}: the previous key and account still answer`)
    t.equal(withA.body.account, 'main')
    t.equal((await get(server.address, daily(GUPSHUP_APP), C, agent)).status, 401, `${name}: the bad file's new key is not in force`)
    t.equal((await get(server.address, daily(OTHER_APP), A, agent)).status, 404, `${name}: nor its account`)
  }
  t.equal(server.lines().filter((line) => (line.level as number) >= 50).length, cases.length, 'one error line per bad file')
  t.equal(server.lines().filter(reloaded).length, 0)

  // A good file again is taken.
  write({ gupshup: { main, finance: { appTokensPath: tokenFile(OTHER_APP) } }, apiKeys: withC })
  server.child.kill('SIGHUP')
  t.same((await server.line(reloaded)).keys, ['a', 'c'])
  t.equal((await get(server.address, daily(OTHER_APP), C, agent)).status, 200)
  const everything = server.log()
  for (const secret of [A, C, inline, sha256(A), sha256(C), ...Object.values(tokens)]) t.notOk(everything.includes(secret), 'no key, digest, token or inline secret in the log')
})

t.test('a bad file at start-up: exit 1 with one line on stderr naming ACCOUNTS_FILE and the field, no value, no stack', async (t) => {
  const { dir } = scratch({})
  const key = newKey()
  const inline = newToken()
  const cases: Array<[string, string, RegExp]> = [
    ['inline.json', JSON.stringify({ gupshup: { main: { appTokens: { [GUPSHUP_APP]: inline } } } }), /gupshup\.main\.appTokens is not a field \(secrets are never written inline/],
    ['nofile.json', JSON.stringify({ gupshup: { main: { appTokensPath: join(dir, 'missing.json') } } }), /gupshup\.main\.appTokensPath names a file that cannot be read/],
    ['broken.json', JSON.stringify({ apiKeys: { ops: { sha256: sha256(key), scopes: ['*'] } } }).slice(0, -7), /is not valid JSON/]
  ]
  const runs = await Promise.all(cases.map(async ([name, content]) => {
    const path = join(dir, name)
    writeFileSync(path, content)
    return { path, ...await runToExit({ ACCOUNTS_FILE: path }) }
  }))
  for (const [index, [name, , message]] of cases.entries()) {
    const { path, code, stdout, stderr } = runs[index]
    t.equal(code, 1, `${name}: exit 1`)
    const lines = stderr.split('\n').filter((line) => line !== '')
    t.equal(lines.length, 1, `${name}: one line on stderr`)
    t.ok(lines[0]?.startsWith(`Invalid configuration: ACCOUNTS_FILE (${path})`), `${name}: names the file`)
    t.match(lines[0], message, `${name}: and the field`)
    t.notMatch(stderr, /\n\s+at /, `${name}: no stack`)
    for (const secret of [key, inline, sha256(key)]) t.notOk(stderr.includes(secret) || stdout.includes(secret), `${name}: no value`)
  }
})

t.test('SIGHUP without ACCOUNTS_FILE: a warning, and the process keeps serving', async (t) => {
  const server = await startServer(t, {})
  server.child.kill('SIGHUP')
  const warning = await server.line((line) => line.msg === 'accounts not reloaded: ACCOUNTS_FILE is not set')
  t.equal(warning.level, 40)
  const res = await request(`${server.address}${daily(GUPSHUP_APP)}`)
  t.equal(res.statusCode, 200, 'still serving (demo mode)')
  await res.body.dump()
  t.equal(server.child.exitCode, null)
  t.notOk(server.lines().some((line) => line.signal === 'SIGHUP'), 'SIGHUP does not start a shutdown')
  server.child.kill('SIGTERM')
  t.equal(await server.exit, 0)
})
