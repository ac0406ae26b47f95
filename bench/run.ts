/**
 * npm run bench: the cache-hit path against a bare Fastify route, the way
 * issue 12 measures it, plus the cold-miss and memory figures; writes
 * bench/RESULTS.md.
 *
 * - wrk (Debian's package; 1 thread, 64 connections) pinned to core 0, the
 *   server under test pinned to core 1 with taskset.
 * - The gateway runs as `npm start` runs it in production: `node
 *   dist/app/server.js`, NODE_ENV=production, LOG_LEVEL=info, stdout to a
 *   file, two API keys, the inbound limit on. The upstreams run in a process
 *   of their own (bench/upstream.ts); the bare route in another (bench/bare.ts).
 * - 200 distinct cached build reports asked in rotation with the two valid keys in turn;
 *   BENCH_ROUNDS (4) interleaved rounds of BENCH_SECONDS (5), alternating
 *   which side goes first; the median ratio and each round's figures, and
 *   server CPU per request from /proc (steadier than req/s on a busy machine).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'

const root = new URL('../..', import.meta.url).pathname
const rounds = Number(process.env.BENCH_ROUNDS ?? 4)
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
/** A pause before each measured run (BENCH_SETTLE_MS): the previous run's after-load work finishes first. */
const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 3000)
const REPORTS = 200
const KEYS = { bench: 'bench-key-0123456789abcdef', other: 'other-key-0123456789abcdef' }
const work = mkdtempSync(join(tmpdir(), 'gateway-bench-'))
/** The V8 flags `npm start` gives node (package.json), so the gateway and the memory figure run as in production. */
const startFlags = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
  .split(' ').filter((arg) => /^--(?!import)[\w-]+(=\S+)?$/.test(arg))
const children: ChildProcess[] = []
const log = (text: string): void => { process.stderr.write(`${text}\n`) }
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

function requireTools (): void {
  for (const [tool, pkg] of [['wrk', 'wrk'], ['taskset', 'util-linux']]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0) continue
    log(`bench: ${tool} is missing; installing Debian's ${pkg} package (apt-get install -y ${pkg})…`)
    if (spawnSync('apt-get', ['install', '-y', pkg], { stdio: 'inherit' }).status !== 0) {
      throw new Error(`${tool} is missing: install it with \`sudo apt-get install -y ${pkg}\` and run npm run bench again`)
    }
  }
}

/** A child pinned to `core`, whose first stdout line is JSON (or, with a log file, a line matching `ready`). */
async function start (core: number, args: string[], env: Record<string, string>, stdoutFile?: string): Promise<{ child: ChildProcess, line: any }> {
  const out = stdoutFile === undefined ? 'pipe' : (await import('node:fs')).openSync(stdoutFile, 'w')
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', out, 'inherit'] })
  children.push(child)
  const exited = once(child, 'exit').then(([code]) => { throw new Error(`${args.join(' ')} exited with ${String(code)}`) })
  if (stdoutFile !== undefined) {
    const listening = (async () => {
      for (;;) {
        const match = /Server listening at (http:\/\/[\d.:]+)/.exec(readFileSync(stdoutFile, 'utf8'))
        if (match !== null) return { url: match[1] }
        await sleep(100)
      }
    })()
    return { child, line: await Promise.race([listening, exited]) }
  }
  let buffer = ''
  const line = new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      if (buffer.includes('\n')) resolve(buffer.split('\n')[0])
    })
  })
  return { child, line: JSON.parse(await Promise.race([line, exited])) }
}

/** User + system CPU seconds a process has used, from /proc. */
function cpuSeconds (pid: number): number {
  const { user, system } = cpuSplit(pid)
  return user + system
}

/** User and system CPU seconds apart: the socket writes are system time. */
function cpuSplit (pid: number): { user: number, system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }
}

interface Run { rps: number, p99Ms: number, cpuMicrosPerRequest: number, systemMicrosPerRequest: number, requests: number }

const toMs = (value: string, unit: string): number => Number(value) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit]

async function wrk (base: string, pid: number, duration: number): Promise<Run> {
  const before = cpuSplit(pid)
  const child = spawn('taskset', ['-c', '0', 'wrk', '-t1', '-c64', `-d${duration}s`, '--latency', '-s', join(work, 'rotate.lua'), base], { stdio: ['ignore', 'pipe', 'inherit'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  await once(child, 'exit')
  const after = cpuSplit(pid)
  const cpu = after.user + after.system - before.user - before.system
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1])
  const requests = Number(/(\d+) requests in/.exec(output)?.[1])
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)$/m.exec(output)
  if (Number.isNaN(rps) || p99 === null) throw new Error(`wrk: unexpected output\n${output}`)
  if (/Non-2xx/.test(output)) throw new Error(`wrk: answers other than 2xx\n${output}`)
  return { rps, p99Ms: toMs(p99[1], p99[2]), cpuMicrosPerRequest: cpu * 1e6 / requests, systemMicrosPerRequest: (after.system - before.system) * 1e6 / requests, requests }
}

/** Thrown to stop after the cache-hit rounds (BENCH_ONLY=hits). */
class SkipRest extends Error {}

const verdict = (met: boolean): string => met ? 'met' : 'NOT met'
const buildPath = (i: number): string => `/usage/apple/builds/00000000-0000-4000-8000-${String(i).padStart(12, '0')}`

requireTools()
// The benchmark's own process (the cold-miss client) stays off the server's core too.
spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${spawnSync('wrk', ['--version']).stdout.toString().split('\n')[0].split(' Copyright')[0]}`
const loadBefore = loadavg()[0]
const rows: string[] = []
const roundLines: string[] = []

try {
  log('bench: starting the upstreams, the gateway (npm start, production) and the bare route…')
  const upstream = await start(0, ['dist/bench/upstream.js'], {})
  const gatewayLog = join(work, 'gateway.log')
  // BENCH_GATEWAY_NODE_ARGS (instead of npm start's flags): '--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the gateway.
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? startFlags.join(' ')).split(' ').filter((arg) => arg !== '')
  // BENCH_GATEWAY_ENTRY: another build's server.js, to compare a change against what it replaced.
  const gateway = await start(1, [...nodeArgs, process.env.BENCH_GATEWAY_ENTRY ?? 'dist/app/server.js'], {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    PORT: '0',
    GATEWAY_API_KEYS: `bench=${KEYS.bench},other=${KEYS.other}`,
    GATEWAY_RATE_LIMIT_PER_MINUTE: '1000000',
    APPLE_BASE_URL: upstream.line.appleBaseUrl,
    APPLE_KEY_ID: upstream.line.credentials.keyId,
    APPLE_ISSUER_ID: upstream.line.credentials.issuerId,
    APPLE_PRIVATE_KEY: upstream.line.credentials.privateKeyPem,
    GUPSHUP_BASE_URL: upstream.line.gupshupBaseUrl,
    GUPSHUP_APP_TOKENS: '{"bf9ee64c-3d4d-4ac4-8668-732e577007c4": "sk_bench_token_0123456789"}',
    CACHE_TTL_SECONDS: '86400',
    SHUTDOWN_DRAIN_MS: '0'
  }, gatewayLog)
  const gatewayUrl = gateway.line.url as string
  const headers = { 'x-api-key': KEYS.bench }
  for (let i = 0; i < REPORTS; i++) {
    const res = await request(gatewayUrl + buildPath(i), { headers })
    if (res.statusCode !== 200) throw new Error(`warming ${buildPath(i)}: ${res.statusCode} ${await res.body.text()}`)
    await res.body.dump()
  }
  const body = await (await request(gatewayUrl + buildPath(0), { headers })).body.text()
  writeFileSync(join(work, 'body.json'), body)
  const bare = await start(1, ['dist/bench/bare.js'], { BODY_FILE: join(work, 'body.json') })
  // The two keys in turn: each has its own limit of 1,000,000 a minute, which one key alone would reach above 16.7k req/s.
  writeFileSync(join(work, 'rotate.lua'), `local keys = { { ["x-api-key"] = "${KEYS.bench}" }, { ["x-api-key"] = "${KEYS.other}" } }
local paths = { ${Array.from({ length: REPORTS }, (_, i) => `"${buildPath(i)}"`).join(', ')} }
local i = 0
request = function ()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], keys[i % 2 + 1])
end
`)

  // BENCH_ONLY=misses: the cold misses alone (a profile of the miss path).
  const sides = { gateway: { url: gatewayUrl, pid: gateway.child.pid as number }, bare: { url: bare.line.url as string, pid: bare.child.pid as number } }
  if (process.env.BENCH_ONLY !== 'misses') {
    log('bench: cache hits, interleaved rounds…')
    await wrk(sides.gateway.url, sides.gateway.pid, 2)
    await wrk(sides.bare.url, sides.bare.pid, 2)
    const results: Array<{ gateway: Run, bare: Run }> = []
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['gateway', 'bare'] as const : ['bare', 'gateway'] as const
      const pair: Partial<Record<'gateway' | 'bare', Run>> = {}
      for (const side of order) {
        // Both servers share core 1: let the other side's after-load work (its idle-time garbage collection, the
        // gateway's log flush) finish first, so it does not land in this side's latency.
        await sleep(settleMs)
        pair[side] = await wrk(sides[side].url, sides[side].pid, seconds)
      }
      const { gateway: g, bare: b } = pair as { gateway: Run, bare: Run }
      results.push({ gateway: g, bare: b })
      const line = `| ${round + 1} | ${order[0]} | ${Math.round(g.rps)} | ${Math.round(b.rps)} | ${(g.rps / b.rps).toFixed(2)} | ${g.p99Ms.toFixed(2)} / ${b.p99Ms.toFixed(2)} | ${g.cpuMicrosPerRequest.toFixed(1)} / ${b.cpuMicrosPerRequest.toFixed(1)} | ${(b.cpuMicrosPerRequest / g.cpuMicrosPerRequest).toFixed(2)} |`
      roundLines.push(line)
      log(`${line} (system time µs/req gateway ${g.systemMicrosPerRequest.toFixed(1)}, bare ${b.systemMicrosPerRequest.toFixed(1)})`)
    }
    const ratio = median(results.map((r) => r.gateway.rps / r.bare.rps))
    const cpuRatio = median(results.map((r) => r.bare.cpuMicrosPerRequest / r.gateway.cpuMicrosPerRequest))
    const p99Ratio = median(results.map((r) => r.gateway.p99Ms / r.bare.p99Ms))
    rows.push(`| cache hit: throughput, gateway / bare (median of ${rounds} rounds) | ≥ 0.80 | ${ratio.toFixed(2)} (range ${Math.min(...results.map((r) => r.gateway.rps / r.bare.rps)).toFixed(2)}–${Math.max(...results.map((r) => r.gateway.rps / r.bare.rps)).toFixed(2)}) | ${verdict(ratio >= 0.8)} |`)
    rows.push(`| cache hit: p99 latency at 64 connections, gateway / bare (median) | ≤ 2 | ${p99Ratio.toFixed(2)} | ${verdict(p99Ratio <= 2)} |`)
    rows.push(`| cache hit: server CPU per request, bare / gateway (median) | context: the ratio a quiet machine would show | ${cpuRatio.toFixed(2)} (gateway ${median(results.map((r) => r.gateway.cpuMicrosPerRequest)).toFixed(1)} µs, bare ${median(results.map((r) => r.bare.cpuMicrosPerRequest)).toFixed(1)} µs) | context |`)
    const logLines = readFileSync(gatewayLog, 'utf8').split('\n').filter((line) => line.includes('"msg":"request"')).length
    rows.push(`| cache hit: one info log line per request | every request logged | ${logLines} request lines written so far (the rest are buffered until the next flush) | context |`)
  }

  // BENCH_ONLY=hits: the cache-hit rounds alone, for quick comparisons.
  if (process.env.BENCH_ONLY === 'hits') throw new SkipRest()
  log('bench: cold misses…')
  const apple = upstream.line.appleBaseUrl as string
  const direct: number[] = []
  const viaGateway: number[] = []
  const time = async (url: string, requestHeaders: Record<string, string>): Promise<number> => {
    const started = performance.now()
    const res = await request(url, { headers: requestHeaders })
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode}`)
    return performance.now() - started
  }
  let n = 0
  const gatewayCpuBefore = cpuSeconds(sides.gateway.pid)
  for (const period of ['P7D', 'P30D', 'P90D', 'P365D']) {
    for (let limit = 1; limit <= 100; limit++) {
      const query = `limit=${limit}&period=${period}`
      // Alternate which goes first, so neither always meets a warmer machine.
      const pair = [
        async () => direct.push(await time(`${apple}/v1/apps/6447306070/metrics/betaTesterUsages?groupBy=betaTesters&${query}`, { authorization: `Bearer ${String(upstream.line.token)}` })),
        async () => viaGateway.push(await time(`${gatewayUrl}/usage/apple/apps/6447306070/beta-testers?${query}`, headers))
      ]
      if (n++ % 2 === 1) pair.reverse()
      for (const step of pair) await step()
    }
  }
  const gatewayCpuPerMiss = (cpuSeconds(sides.gateway.pid) - gatewayCpuBefore) * 1e3 / viaGateway.length
  const overhead = median(viaGateway) - median(direct)
  rows.push(`| cold miss, ${viaGateway.length} distinct reports, upstream in its own process: added latency (median) | < 1 ms | ${overhead.toFixed(2)} ms (gateway ${median(viaGateway).toFixed(2)}, direct ${median(direct).toFixed(2)} ms) | ${verdict(overhead < 1)} |`)
  // What the gateway itself spends on a miss (request, upstream call, normalize, serialize, ETag, cache): the rest of
  // the added latency is the extra process hop, which a busy machine's scheduler makes long.
  rows.push(`| cold miss: gateway CPU per miss | context | ${gatewayCpuPerMiss.toFixed(2)} ms | context |`)
  // The gateway's own log says where a miss's time went inside it: the upstream call, and the rest (its own work).
  await sleep(1500)
  const missLines = readFileSync(gatewayLog, 'utf8').split('\n').filter((line) => line.includes('/beta-testers?') && line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as { durationMs: number, upstreamMs: number })
  if (missLines.length > 0) {
    rows.push(`| cold miss: inside the gateway (its log, median) | context | ${median(missLines.map((line) => line.durationMs)).toFixed(2)} ms from request to answer, of which ${median(missLines.map((line) => line.upstreamMs)).toFixed(2)} ms the upstream call; ${median(missLines.map((line) => line.durationMs - line.upstreamMs)).toFixed(2)} ms its own | context |`)
  }
} catch (error) {
  if (!(error instanceof SkipRest)) throw error
} finally {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(children.map(async (child) => { if (child.exitCode === null) await once(child, 'exit') }))
  // The gateway's log and the wrk script: hundreds of thousands of lines, of no use once counted.
  rmSync(work, { recursive: true, force: true })
}

if (process.env.BENCH_ONLY === undefined) await memoryFigures()

async function memoryFigures (): Promise<void> {
  log('bench: memory…')
  const memory = await start(1, [...startFlags, '--expose-gc', 'dist/bench/memory.js'], { CACHE_MAX_BYTES: '64MiB', REPORTS: '200000' })
  await once(memory.child, 'exit')
  const m = memory.line
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`
  const memoryRatio = m.rssGrowth / m.maxBytes
  rows.push(`| ${m.reports} distinct cached reports, CACHE_MAX_BYTES=64MiB, node ${startFlags.join(' ') || 'without flags'}: resident growth | ≤ 1.5 × bound | ${memoryRatio.toFixed(2)} × once settled (${mib(m.rssGrowth)}); ${(m.rssGrowthAfterChurn / m.maxBytes).toFixed(2)} × right after the churn; ${m.entries} reports held, ${mib(m.countedBytes)} counted, ${mib(m.heapUsed)} heap | ${memoryRatio <= 1.5 ? 'met' : 'NOT met'} |`)
}

const table = ['| scenario | target | measured | verdict |', '|---|---|---|---|', ...rows].join('\n')
const perRound = ['| round | first | gateway req/s | bare req/s | ratio | p99 ms gateway / bare | CPU µs/req gateway / bare | CPU ratio bare / gateway |', '|---|---|---|---|---|---|---|---|', ...roundLines].join('\n')
const loadNote = `Load average before the run: ${loadBefore.toFixed(2)}, after: ${loadavg()[0].toFixed(2)}${loadBefore > 0.5 ? ' (other work was running: throughput figures are noisy; CPU per request is steadier)' : ''}.`
process.stdout.write(`\n${machine}\n${loadNote}\n\n${table}\n\n${perRound}\n`)
const notes = existsSync(new URL('../../bench/NOTES.md', import.meta.url)) ? `\n${readFileSync(new URL('../../bench/NOTES.md', import.meta.url), 'utf8')}` : ''
await writeFile(new URL('../../bench/RESULTS.md', import.meta.url), `# Benchmark results

Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.

Machine: ${machine}. ${loadNote}

Method (issue 12): wrk, 1 thread, 64 connections, pinned to core 0 with taskset; the server under test pinned to core 1.
The gateway runs as \`npm start\` runs it in production (\`node ${startFlags.join(' ')} dist/app/server.js\`, NODE_ENV=production, LOG_LEVEL=info,
stdout to a file, two API keys, the inbound limit on), its upstreams in a process of their own. wrk asks ${REPORTS} distinct
cached build reports in rotation, the two valid \`x-api-key\`s in turn; the bare route is Fastify 5 serving the same body with the same
content type, in its own process on the same core. ${rounds} interleaved rounds of ${seconds} s (after 2 s of warm-up each),
alternating which side goes first, each run after ${settleMs / 1000} s of quiet (the two servers share core 1). CPU per request is the server process's user + system time (from /proc) over the
requests wrk counted.

${table}

Each round:

${perRound}
${notes}`)
