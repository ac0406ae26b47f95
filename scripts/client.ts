/**
 * npm run client: regenerates the typed client's types (clients/typescript/schema.ts)
 * from openapi/openapi.json. `npm run openapi` runs it after writing the spec.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { CLIENT_TYPES_PATH, SPEC_PATH, generateClientTypes } from './client-types.js'

const root = new URL('../../', import.meta.url)
const target = new URL(CLIENT_TYPES_PATH, root)
await writeFile(target, await generateClientTypes(await readFile(new URL(SPEC_PATH, root), 'utf8')))
process.stdout.write(`wrote ${target.pathname}\n`)
