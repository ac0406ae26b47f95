/**
 * The OpenAPI document as the code generates it, independent of the
 * environment it runs in (so the committed copy can be compared with it).
 */
import { buildApp } from './app.js'
import { loadConfig } from '../providers/index.js'

export async function generateOpenApi (): Promise<string> {
  const app = await buildApp({ config: loadConfig({ LOG_LEVEL: 'silent' }) })
  try {
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}
