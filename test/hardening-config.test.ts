import t from 'tap'
import { ConfigError } from '../src/config.js'
import { loadConfig } from '../providers/index.js'

t.test('the hardening limits: defaults, and bad values refused by name without echoing them', async (t) => {
  const config = loadConfig({})
  t.equal(config.upstreamSharePerCaller, 0.5)
  t.equal(config.upstreamMaxBackoffSeconds, 300)
  t.equal(config.cache.refreshFloorSeconds, 60)
  t.equal(config.providers.apple.maxPending, 32)
  const set = loadConfig({ UPSTREAM_SHARE_PER_CALLER: '0.25', UPSTREAM_MAX_BACKOFF_SECONDS: '30', CACHE_REFRESH_FLOOR_SECONDS: '0', APPLE_MAX_PENDING: '0' })
  t.same([set.upstreamSharePerCaller, set.upstreamMaxBackoffSeconds, set.cache.refreshFloorSeconds, set.providers.apple.maxPending], [0.25, 30, 0, 0])
  t.equal(loadConfig({ UPSTREAM_SHARE_PER_CALLER: '1' }).upstreamSharePerCaller, 1)
  for (const [variable, raw] of [
    ['UPSTREAM_SHARE_PER_CALLER', '1.5'], ['UPSTREAM_SHARE_PER_CALLER', '0.01'], ['UPSTREAM_SHARE_PER_CALLER', 'half'],
    ['UPSTREAM_MAX_BACKOFF_SECONDS', '0'], ['CACHE_REFRESH_FLOOR_SECONDS', '-1'], ['APPLE_MAX_PENDING', 'many']
  ]) {
    try {
      loadConfig({ [variable]: raw })
      t.fail(`${variable}=${raw} was accepted`)
    } catch (error) {
      t.ok(error instanceof ConfigError && error.variable === variable, `${variable}=${raw} is refused by name`)
      t.notMatch((error as Error).message, `=${raw}`, 'without its value')
    }
  }
})
