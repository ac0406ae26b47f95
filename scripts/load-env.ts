/**
 * `npm start` preloads this (`node --import`): it reads `.env` from the
 * working directory when there is one, with Node's own loader. Variables
 * already in the environment win over the file. The container does not use
 * it: there the environment is the configuration.
 */
import { existsSync } from 'node:fs'

/** Loads `path` into process.env when it exists; says whether it did. */
export function loadDotEnv (path = '.env'): boolean {
  if (!existsSync(path)) return false
  process.loadEnvFile(path)
  return true
}

loadDotEnv()
