/**
 * `npm start` as a newcomer runs it: it builds only what changed, reads `.env`
 * when there is one, and `.env.example` documents every variable.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import t from 'tap'
import { loadConfig, providers } from '../providers/index.js'
import { loadDotEnv } from '../scripts/load-env.js'

const root = new URL('../', import.meta.url)
const text = async (path: string): Promise<string> => await readFile(new URL(path, root), 'utf8')

t.test('npm start builds incrementally (tsc -b) and preloads the .env loader', async (t) => {
  const scripts = JSON.parse(await text('package.json')).scripts as Record<string, string>
  // The usage explorer's build (explorer/build.ts) also skips itself when nothing changed.
  t.match(scripts.start, /^tsc -b tsconfig\.json && node dist\/explorer\/build\.js && node --max-semi-space-size=4 --min-semi-space-size=4 --import \.\/dist\/scripts\/load-env\.js dist\/app\/server\.js$/)
  const tsconfig = await text('tsconfig.json')
  t.match(tsconfig, /"incremental": true/, 'tsc -b skips the build when nothing changed')
})

t.test('.env is read when present; the environment wins over it; no file, no change', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'usage-gateway-env-'))
  const file = join(dir, '.env')
  await writeFile(file, 'NEWCOMER_TEST_FROM_FILE=file\nNEWCOMER_TEST_BOTH=file\n')
  process.env.NEWCOMER_TEST_BOTH = 'environment'
  t.teardown(() => {
    delete process.env.NEWCOMER_TEST_FROM_FILE
    delete process.env.NEWCOMER_TEST_BOTH
  })
  t.equal(loadDotEnv(join(dir, 'absent.env')), false)
  t.equal(process.env.NEWCOMER_TEST_FROM_FILE, undefined)
  t.equal(loadDotEnv(file), true)
  t.equal(process.env.NEWCOMER_TEST_FROM_FILE, 'file')
  t.equal(process.env.NEWCOMER_TEST_BOTH, 'environment')
})

t.test('.env.example names every variable the configuration reads, and its values are the defaults', async (t) => {
  const example = await text('.env.example')
  // Every variable the core's and each provider's config reads is passed by name to one of its readers.
  const config = (await Promise.all(['src', ...providers.map(({ name }) => `providers/${name}`)].map(async (dir) => await text(`${dir}/config.ts`)))).join('\n')
  const read = new Set([...config.matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((match) => match[1]))
  t.ok(read.size >= 25, `found ${read.size} variables in the config modules`)
  for (const name of read) t.match(example, new RegExp(`^(# )?${name}=`, 'm'), `${name} is in .env.example`)
  t.match(example, /^# NODE_ENV=/m)
  for (const line of example.split('\n').filter((l) => /^(# )?[A-Z][A-Z0-9_]+=/.test(l))) {
    const index = example.indexOf(line)
    t.match(example.slice(0, index).trimEnd().split('\n').pop(), /^# \S/, `${line}: a comment says what it is`)
  }
  const values = parseEnv(example)
  t.same(loadConfig(values), loadConfig({}), 'the example, as is, configures exactly the defaults')
})
