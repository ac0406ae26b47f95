import { readFileSync, readdirSync, statSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'

// No Docker engine runs in CI: these check what can be checked without building the image.
const root = new URL('..', import.meta.url).pathname
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }

function sources (dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : []
  })
}

t.test('every package the running gateway imports is a production dependency (the image omits dev ones)', async (t) => {
  const runtime = ['src', 'providers', 'plugins', 'routes', 'app'].flatMap(sources)
  t.ok(runtime.length > 10)
  for (const file of runtime) {
    const text = readFileSync(join(root, file), 'utf8')
    for (const [, specifier] of text.matchAll(/^import (?!type )[^'"]*['"]([^'"]+)['"]/gm)) {
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]
      t.ok(pkg.dependencies[name], `${file} imports ${name}, a production dependency`)
    }
  }
})

t.test('the Dockerfile: Node 24 slim, multi-stage, production deps only, non-root, listens on all interfaces, health-checked', async (t) => {
  const stages = dockerfile.match(/^FROM /gm) ?? []
  t.ok(stages.length >= 2, 'multi-stage')
  t.match(dockerfile, /^FROM node:24-slim\s*$/m, 'the runtime stage is Node 24 LTS slim')
  t.notMatch(dockerfile, /^FROM node:(?!24-slim)/m, 'every stage is on Node 24')
  t.match(dockerfile, /npm ci --omit=dev/)
  t.match(dockerfile, /^USER node$/m)
  t.match(dockerfile, /HOST=0\.0\.0\.0/)
  t.match(dockerfile, /NODE_ENV=production/)
  t.match(dockerfile, /HEALTHCHECK[\s\S]*\/health/)
  // The young generation npm start gives node too (resident memory near the cache bound, bench/NOTES.md).
  t.match(dockerfile, /CMD \["node", "--max-semi-space-size=4", "--min-semi-space-size=4", "dist\/app\/server\.js"\]/)
  // What the image runs must be what `npm run build` produces.
  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string, rootDir: string } }
  t.equal(tsconfig.compilerOptions.outDir, 'dist')
  t.equal(tsconfig.compilerOptions.rootDir, '.')
  for (const dir of ['src', 'providers', 'plugins', 'routes', 'app']) t.match(dockerfile, new RegExp(`COPY ${dir} \\./${dir}`), `${dir}/ is compiled into the image`)
})

t.test('.dockerignore keeps the build context to what the image needs', async (t) => {
  const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#'))
  t.equal(ignore[0], '*', 'everything is excluded unless named')
  t.notOk(ignore.some((line) => /node_modules|\.git|\.env|test/.test(line) && line.startsWith('!')), 'no node_modules, .git, .env or tests')
})

t.test('compose.yaml: two replicas of this image sharing one Redis, secrets from the environment only', async (t) => {
  const text = readFileSync(join(root, 'compose.yaml'), 'utf8')
  const compose = parse(text, { merge: true }) as { services: Record<string, { build?: string, image?: string, environment?: Record<string, string>, depends_on?: Record<string, { condition: string }>, healthcheck?: unknown }> }
  const replicas = Object.entries(compose.services).filter(([, service]) => service.build === '.')
  t.equal(replicas.length, 2)
  for (const [name, service] of replicas) {
    t.equal(service.environment?.REDIS_URL, 'redis://redis:6379', name)
    t.same(service.depends_on, { redis: { condition: 'service_healthy' } }, name)
  }
  t.match(compose.services.redis.image, /^redis:7/)
  t.ok(compose.services.redis.healthcheck)
  t.notMatch(text, /sk_|BEGIN PRIVATE KEY/, 'no secret in the file')
})
