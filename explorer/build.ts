/**
 * Builds the usage explorer (/explorer/): bundles explorer/page/main.ts and
 * everything it imports from npm (Chart.js) into one minified ES module with
 * esbuild, and copies the page and its style beside it. Every asset is served
 * by the gateway itself: no CDN, no request to another host.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/** The project root, whether this runs compiled (dist/explorer/build.js) or from source (explorer/build.ts). */
const here = new URL('.', import.meta.url)
const root = here.pathname.endsWith('/dist/explorer/') ? new URL('../../', here) : new URL('../', here)

/** Where the gateway serves the page from (plugins/explorer.ts looks there). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('dist/explorer/www/', root))

export async function buildExplorer (outDir = DEFAULT_OUT_DIR): Promise<void> {
  const sources = fileURLToPath(new URL('explorer/page/', root))
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
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await buildExplorer()
