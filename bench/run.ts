/**
 * npm run bench: measures the gateway against its targets on this machine,
 * prints a table and writes bench/RESULTS.md. Ratios come from one run;
 * absolute times on a shared machine mean little.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import autocannon from 'autocannon'
import { buildApp } from '../app/app.js'
import { loadConfig, providers } from '../providers/index.js'
import type { SimulatorsOf } from '../src/provider.js'
import { startSimulators } from '../src/simulators.js'

const here = new URL('.', import.meta.url)
const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const budgetSeconds = Number(process.env.BENCH_BUDGET_SECONDS ?? 60)
const rows: Array<[string, string, string, string]> = []
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const log = (text: string): void => { process.stderr.write(`${text}\n`) }

async function childLine (script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<{ child: ReturnType<typeof spawn>, line: any }> {
  const child = spawn(process.execPath, [...nodeArgs, new URL(script, here).pathname], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  let buffer = ''
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      if (buffer.includes('\n')) resolve(buffer.split('\n')[0])
    })
    child.once('exit', (code) => { reject(new Error(`${script} exited with ${String(code)}`)) })
  })
  return { child, line: JSON.parse(line) }
}

interface Load { rps: number, p99: number, cpuMicrosPerRequest: number }

async function load (url: string, duration: number, cpuUrl?: string): Promise<Load> {
  const cpu = async (): Promise<number> => cpuUrl === undefined ? 0 : ((await (await fetch(cpuUrl)).json()) as { micros: number }).micros
  const before = await cpu()
  const result = await autocannon({ url, connections: 50, duration })
  const after = await cpu()
  return { rps: result.requests.average, p99: result.latency.p99, cpuMicrosPerRequest: (after - before) / Math.max(1, result.requests.total) }
}

/** 1. Cache hits against a bare Fastify route with the same body, alternating, in one child process. */
async function hitThroughput (logLevel: string): Promise<void> {
  const { child, line } = await childLine('servers.js', { LOG_LEVEL: logLevel })
  try {
    await load(line.gateway, 2)
    await load(line.bare, 2)
    const gateway: Load[] = []
    const bare: Load[] = []
    for (let round = 0; round < 2; round++) {
      bare.push(await load(line.bare, seconds, line.cpu))
      gateway.push(await load(line.gateway, seconds, line.cpu))
    }
    const summary = (runs: Load[]): Load => ({ rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99)), cpuMicrosPerRequest: median(runs.map((r) => r.cpuMicrosPerRequest)) })
    const g = summary(gateway)
    const b = summary(bare)
    const label = `cache hit vs bare Fastify (gateway log level ${logLevel}, ${line.bytes} B body)`
    const verdict = (ratio: number): string => ratio >= 0.8 ? 'met' : 'NOT met'
    rows.push([label, 'throughput ratio ≥ 0.8', `${(g.rps / b.rps).toFixed(2)} (gateway ${Math.round(g.rps)}, bare ${Math.round(b.rps)} req/s)`, verdict(g.rps / b.rps)])
    rows.push([label, 'p99 latency ratio (bare / gateway) ≥ 0.8', `${(b.p99 / g.p99).toFixed(2)} (gateway ${g.p99}, bare ${b.p99} ms)`, verdict(b.p99 / g.p99)])
    rows.push([label, 'server CPU per request ratio (bare / gateway)', `${(b.cpuMicrosPerRequest / g.cpuMicrosPerRequest).toFixed(2)} (gateway ${g.cpuMicrosPerRequest.toFixed(1)}, bare ${b.cpuMicrosPerRequest.toFixed(1)} µs)`, 'context'])
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

type Simulators = SimulatorsOf<typeof providers>

async function withGateway<T> (env: Record<string, string>, run: (base: string, sims: Simulators) => Promise<T>): Promise<T> {
  const running = await startSimulators(loadConfig({ LOG_LEVEL: 'silent', GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000', ...env }), providers)
  const { config, simulators: sims } = running
  const app = await buildApp({ config }, { logStream: { write: () => {} } })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  try {
    return await run(base, sims)
  } finally {
    await app.close()
    await running.close()
  }
}

/** 2. Cold misses: gateway latency minus the upstream's own, over distinct reports. */
async function coldMissOverhead (): Promise<void> {
  await withGateway({}, async (base, sims) => {
    const token = await sims.apple.token()
    const direct: number[] = []
    const viaGateway: number[] = []
    const time = async (url: string, headers: Record<string, string> = {}): Promise<number> => {
      const started = performance.now()
      const res = await fetch(url, { headers })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`${url}: ${res.status}`)
      return performance.now() - started
    }
    let n = 0
    for (const period of ['P7D', 'P30D', 'P90D', 'P365D']) {
      for (let limit = 1; limit <= 100; limit++) {
        const query = `limit=${limit}&period=${period}`
        // Alternate which goes first, so neither always meets a warmer machine.
        const pair = [
          async () => direct.push(await time(`${sims.apple.baseUrl}/v1/apps/6447306070/metrics/betaTesterUsages?groupBy=betaTesters&${query}`, { authorization: `Bearer ${token}` })),
          async () => viaGateway.push(await time(`${base}/usage/apple/apps/6447306070/beta-testers?${query}`))
        ]
        if (n++ % 2 === 1) pair.reverse()
        for (const step of pair) await step()
      }
    }
    const overhead = median(viaGateway) - median(direct)
    rows.push([`cold miss, ${viaGateway.length} distinct reports`, 'median overhead < 1 ms', `${overhead.toFixed(2)} ms (gateway ${median(viaGateway).toFixed(2)}, direct ${median(direct).toFixed(2)} ms)`, overhead < 1 ? 'met' : 'NOT met'])
  })
}

/** 3. 1,000 concurrent identical cold requests. */
async function coalescing (): Promise<void> {
  await withGateway({}, async (base, sims) => {
    const result = await autocannon({ url: `${base}/usage/apple/apps/6447306070/beta-testers?limit=200&period=P90D`, connections: 1000, amount: 1000 })
    const calls = sims.apple.calls.length
    rows.push(['1,000 concurrent identical cold requests', 'exactly 1 upstream call', `${calls} call(s); ${result['2xx']} answered 200, ${result.non2xx} not`, calls === 1 && result['2xx'] === 1000 ? 'met' : 'NOT met'])
  })
}

/** 4. A minute of mixed Gupshup ranges from 50 clients. */
async function budget (): Promise<void> {
  await withGateway({}, async (base, sims) => {
    const apps = Object.keys(sims.gupshup.tokens)
    let seed = 1
    const random = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
    const day = (offset: number): string => new Date(Date.UTC(2025, 0, 1) + offset * 86_400_000).toISOString().slice(0, 10)
    const outcomes: Record<string, number> = {}
    const result = await autocannon({
      url: base,
      connections: 50,
      duration: budgetSeconds,
      requests: [{
        setupRequest: (request) => {
          const start = Math.floor(random() * 80)
          const length = 1 + Math.floor(random() * 20)
          return { ...request, path: `/usage/gupshup/apps/${apps[Math.floor(random() * apps.length)]}?from=${day(start)}&to=${day(start + length)}` }
        },
        onResponse: (status, _body, _context, headers) => {
          const key = status === 200 ? `200 ${String((headers as Record<string, string>)['x-cache'])}` : String(status)
          outcomes[key] = (outcomes[key] ?? 0) + 1
        }
      }]
    })
    const perApp = apps.map((appId) => sims.gupshup.calls.filter((call) => call.appId === appId).length)
    const upstream429 = sims.gupshup.calls.filter((call) => call.status === 429).length
    const perMinute = Math.max(...perApp) / (budgetSeconds / 60)
    rows.push([`${budgetSeconds} s of mixed Gupshup ranges, 50 clients, ${result.requests.total} requests`, 'no upstream 429; ≤ 10 calls per token per minute', `${upstream429} upstream 429s; calls per token ${perApp.join(', ')}; answers ${JSON.stringify(outcomes)}`, upstream429 === 0 && perMinute <= 10 + 1e-9 ? 'met' : 'NOT met'])
  })
}

/** 5. Resident memory with 200,000 distinct reports and CACHE_MAX_BYTES=64MiB. */
async function memory (): Promise<void> {
  const { child, line } = await childLine('memory.js', { CACHE_MAX_BYTES: '64MiB', REPORTS: '200000' }, ['--expose-gc'])
  await once(child, 'exit')
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  const ratio = line.rssGrowth / line.maxBytes
  rows.push([
    `${line.reports} distinct cached reports, CACHE_MAX_BYTES=64MiB`,
    'RSS growth ≤ 1.5 × bound',
    `${ratio.toFixed(2)} × once settled (${mib(line.rssGrowth)}); ${(line.rssGrowthAfterChurn / line.maxBytes).toFixed(2)} × right after the churn; ${line.entries} reports held, ${mib(line.countedBytes)} counted, ${mib(line.heapUsed)} heap`,
    ratio <= 1.5 ? 'met' : 'NOT met'
  ])
}

const steps: Array<[string, () => Promise<void>]> = [
  ['cache-hit throughput', async () => { await hitThroughput('silent'); await hitThroughput('info') }],
  ['cold-miss overhead', coldMissOverhead],
  ['coalescing', coalescing],
  ['budget', budget],
  ['memory', memory]
]
// BENCH_ONLY=budget (say) runs one scenario, for quick looks while tuning.
for (const [name, step] of steps.filter(([name]) => process.env.BENCH_ONLY === undefined || name.startsWith(process.env.BENCH_ONLY))) {
  log(`bench: ${name}…`)
  await step()
}

// Read from node_modules directly: some packages do not export their package.json.
const version = (name: string): string => (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; fastify ${version('fastify')}, lru-cache ${version('lru-cache')}, undici ${version('undici')}, autocannon ${version('autocannon')}`
const table = ['| scenario | target | measured | verdict |', '|---|---|---|---|', ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
process.stdout.write(`\n${machine}\n\n${table}\n`)
await writeFile(new URL('../../bench/RESULTS.md', import.meta.url), `# Benchmark results

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. One run; the machine is shared, so read the ratios, not the absolute figures.

Machine: ${machine}.

Autocannon runs ${seconds} s per throughput measurement (the median of two alternating rounds per side, after a 2 s warm-up each), 50 connections; the gateway and the bare route share one child process, autocannon runs in another. The gateway's one log line per request goes to a discarding stream at level \`info\`, and is off at \`silent\`.

${table}
`)
