/**
 * Builds the usage explorer (/explorer/): bundles explorer/page/main.ts and
 * everything it imports from npm (Chart.js) into one minified ES module with
 * esbuild, and copies the page and its style beside it. Every asset is served
 * by the gateway itself: no CDN, no request to another host. Like `tsc -b`,
 * it does nothing when nothing changed since the last build.
 */
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** The project root, whether this runs compiled (dist/explorer/build.js) or from source (explorer/build.ts). */
const here = new URL('.', import.meta.url)
const root = here.pathname.endsWith('/dist/explorer/') ? new URL('../../', here) : new URL('../', here)

/** Where the gateway serves the page from (plugins/explorer.ts looks there). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('dist/explorer/www/', root))

const modified = async (path: string): Promise<number> => (await stat(path)).mtimeMs

/** Whether the bundle in `outDir` is newer than the page's sources, this script and the Chart.js installed. */
async function upToDate (sources: string, outDir: string): Promise<boolean> {
  let built: number
  try {
    built = Math.min(...await Promise.all(['index.html', 'explorer.css', 'explorer.js'].map(async (file) => await modified(`${outDir}/${file}`))))
  } catch {
    return false
  }
  const inputs = [
    ...(await readdir(sources)).map((file) => `${sources}${file}`),
    fileURLToPath(import.meta.url),
    fileURLToPath(new URL('node_modules/chart.js/package.json', root))
  ]
  return (await Promise.all(inputs.map(modified))).every((time) => time < built)
}

/** Builds the page into `outDir` unless it is up to date (or `force`); says whether it built. */
export async function buildExplorer (outDir = DEFAULT_OUT_DIR, { force = false } = {}): Promise<boolean> {
  const sources = fileURLToPath(new URL('explorer/page/', root))
  if (!force && await upToDate(sources, outDir)) return false
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  await build({
    entryPoints: [`${sources}main.ts`],
    outfile: `${outDir}/explorer.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning'
  })
  await Promise.all(['index.html', 'explorer.css'].map(async (file) => { await copyFile(`${sources}${file}`, `${outDir}/${file}`) }))
  return true
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await buildExplorer()
