/**
 * npm run openapi: writes the generated spec to openapi/openapi.json.
 */
import { writeFile } from 'node:fs/promises'
import { generateOpenApi } from '../app/openapi.js'

const target = new URL('../../openapi/openapi.json', import.meta.url)
await writeFile(target, await generateOpenApi())
process.stdout.write(`wrote ${target.pathname}\n`)
