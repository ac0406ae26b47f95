import { spawn } from 'node:child_process'
import { once } from 'node:events'
import t from 'tap'
import { request } from 'undici'
import { APPLE_BUILD, JSON_HEADERS, appleEnv, fixture, loopbackUpstream } from './helpers.js'

const SERVER = new URL('../app/server.ts', import.meta.url).pathname

/** Runs app/server.ts as `npm start` would (through tap's TypeScript loader). */
function startServer (env: Record<string, string>): ReturnType<typeof spawn> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(APPLE_|GUPSHUP_|GATEWAY_|NODE_ENV|PORT|HOST)/.test(name)))
  // No load-balancer drain here (test/shutdown.test.ts covers it): SIGTERM goes straight to the grace.
  return spawn(process.execPath, [...process.execArgv, SERVER], { env: { SHUTDOWN_DRAIN_MS: '0', ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

async function output (child: ReturnType<typeof spawn>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = await once(child, 'exit') as [number | null]
  return { code, stdout, stderr }
}

t.test('with no credentials, the server starts in demo mode on the simulators, says so, and stops on SIGTERM', async (t) => {
  const child = startServer({ PORT: '0', LOG_LEVEL: 'info' })
  const done = output(child)
  let log = ''
  const address = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)
      if (match !== null) resolve(match[1])
    })
    child.once('exit', () => { reject(new Error(`server exited early: ${log}`)) })
  })
  t.match(log, /DEMO MODE: no credentials for apple and gupshup/)
  const res = await request(`${address}/usage/apple/builds/${APPLE_BUILD}`)
  t.equal(res.statusCode, 200)
  t.equal((await res.body.json() as { provider: string }).provider, 'apple')
  child.kill('SIGTERM')
  const { code } = await done
  t.equal(code, 0)
})

t.test('bad configuration stops start-up with one line naming the variable, not its value', async (t) => {
  const { code, stdout, stderr } = await output(startServer({ GUPSHUP_APP_TOKENS: '{"app": "sk_live_TOPSECRET"' }))
  t.equal(code, 1)
  t.match(stderr, /^Invalid configuration: GUPSHUP_APP_TOKENS is not valid JSON/m)
  t.notMatch(stderr + stdout, /TOPSECRET/)
})

t.test('production without API keys refuses to start', async (t) => {
  const { code, stderr } = await output(startServer({ NODE_ENV: 'production' }))
  t.equal(code, 1)
  t.match(stderr, /GATEWAY_API_KEYS is required when NODE_ENV=production/)
})

t.test('SIGTERM during a slow upstream call: the call completes, then the process exits', async (t) => {
  const slow = await loopbackUpstream(t, (_request, response) => {
    setTimeout(() => response.writeHead(200, JSON_HEADERS).end(JSON.stringify(fixture('apple-build-usages'))), 1500)
  })
  const child = startServer({ PORT: '0', ...await appleEnv(slow), GUPSHUP_APP_TOKENS: '{"app-1": "token-1"}' })
  const done = output(child)
  let log = ''
  const address = await new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log)
      if (match !== null) resolve(match[1])
    })
  })
  const pending = request(`${address}/usage/apple/builds/${APPLE_BUILD}`)
  await new Promise((resolve) => setTimeout(resolve, 400))
  child.kill('SIGTERM')
  const res = await pending
  t.equal(res.statusCode, 200, 'the in-flight request is answered')
  t.equal((await res.body.json() as { report: string }).report, 'betaBuildUsages')
  const { code } = await done
  t.equal(code, 0)
  t.match(log, /"signal":"SIGTERM"/)
})
