/**
 * Re-reads ACCOUNTS_FILE (server.ts calls it on SIGHUP): keys and accounts
 * change without a restart. An unchanged account keeps its source (budgets,
 * tokens); a dropped one finishes its requests in flight first. A bad file
 * keeps the previous configuration and logs why, naming the field, never a value.
 */
import fp from 'fastify-plugin'
import { loadAccountsFile } from '../src/accounts/accounts-file.js'
import { accountSections } from '../src/accounts/account-set.js'
import type { KeyRing } from '../src/accounts/key-ring.js'
import { apiKeys, ConfigError, type Config, type Env } from '../src/config.js'
import type { Provider } from '../src/provider.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Re-reads ACCOUNTS_FILE; true when the new configuration is in force. Never throws. */
    reloadAccounts: () => boolean
  }
}

export interface AccountsReloadOptions {
  config: Config
  providers: readonly Provider[]
  keys: KeyRing
  /** Where the file's `…Env` fields are read (process.env). */
  env: Env
  /** Called once a new configuration is in force (what each caller may reach has changed). */
  onReloaded?: () => void
}

export default fp<AccountsReloadOptions>(async function accountsReload (fastify, { config, providers, keys, env, onReloaded }) {
  const sections = config.providers as Record<string, unknown>
  fastify.decorate('reloadAccounts', () => {
    const path = config.accountsFile
    if (path === undefined) {
      fastify.log.warn('accounts not reloaded: ACCOUNTS_FILE is not set')
      return false
    }
    try {
      const file = loadAccountsFile(path, env, providers, sections)
      const next = apiKeys(env, config.production, file.apiKeys, path)
      if (next.length === 0 && keys.size > 0) throw new ConfigError(`ACCOUNTS_FILE (${path}) apiKeys`, 'would leave the gateway without any key')
      fastify.accounts.replace(accountSections(providers, sections, file.accounts))
      fastify.usage.accountsChanged()
      keys.replace(next)
      onReloaded?.()
      const accounts = Object.fromEntries(providers.map((provider) => [provider.name, fastify.accounts.names(provider.name)]))
      fastify.log.info({ accounts, keys: next.map((key) => key.name) }, 'accounts reloaded')
      return true
    } catch (error) {
      // A ConfigError names the file and the field, never a value; anything else is named by its class only.
      const reason = error instanceof ConfigError ? error.message : `${(error as Error).name} while making the accounts' clients`
      fastify.log.error({ reason }, 'accounts not reloaded: the previous configuration stays')
      return false
    }
  })
}, { name: 'accounts-reload', dependencies: ['usage'] })
