/**
 * Child process of the benchmark (run with --expose-gc): fills the report
 * cache with distinct reports and reports resident memory growth.
 */
import { ReportCache } from '../src/cache/report-cache.js'
import { parseBytes } from '../src/config.js'
import { providers } from '../providers/index.js'

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const maxBytes = parseBytes(process.env.CACHE_MAX_BYTES ?? '64MiB') ?? 0
const reports = Number(process.env.REPORTS ?? 200_000)
// The report cache's share of CACHE_MAX_BYTES (plugins/usage.ts gives it three quarters).
const cache = new ReportCache({ maxBytes: Math.floor(maxBytes * 0.75), maxStaleMs: 0 })

gc()
const before = process.memoryUsage().rss
for (let i = 0; i < reports; i++) {
  const body = JSON.stringify({ provider: providers[0].name, report: 'betaTesterUsages', subject: { type: 'app', id: String(6447306070 + i) }, units: { crashes: 'count', sessions: 'count', feedback: 'count' }, data: Array.from({ length: 1 + (i % 5) }, (_, j) => ({ start: '2026-10-23', end: '2026-11-22', dimensions: { betaTester: `${i}-${j}-5e3c0b8a-4a1e-4b7e-9b52-6d0c1a2b3c4d` }, metrics: { crashes: j, sessions: i % 97, feedback: j % 3 } })), totals: {}, paging: { total: 931, limit: 5, next: null } })
  await cache.fetch(`apple.apps.betaTesterUsages:${i}?limit=5`, 3_600_000, async () => body)
}
gc()
const afterChurn = process.memoryUsage().rss
// V8 hands freed pages back lazily: read resident memory again once it has settled.
await new Promise((resolve) => setTimeout(resolve, 3000))
gc()
const settled = process.memoryUsage()
process.stdout.write(`${JSON.stringify({
  reports,
  maxBytes,
  rssGrowthAfterChurn: afterChurn - before,
  rssGrowth: settled.rss - before,
  heapUsed: settled.heapUsed,
  entries: cache.entries,
  countedBytes: cache.bytes
})}\n`)
