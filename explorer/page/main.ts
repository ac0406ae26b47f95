/**
 * The usage explorer: reads its settings and the catalog (GET /usage), then
 * offers a panel per provider the deployment serves, shaped by what the
 * catalog lists (directories, buckets, fan-out, labels), one app at a time
 * and with ids typed in where a route is absent.
 */
import { Gateway, loadConfig, Offer, Problem, storedKey, storeKey, type Catalog, type PageConfig } from './api.js'
import { showApple } from './apple.js'
import { showGupshup } from './gupshup.js'
import { byId, fill, h, inBackground, problemMessage } from './view.js'

const status = byId('status')
const keyForm = byId<HTMLFormElement>('key-form')
const keyInput = byId<HTMLInputElement>('api-key')

/** Shows the key field: configured keys, or a 401 from a front that wants one. */
function askForKey (focus: boolean): void {
  keyForm.hidden = false
  if (focus) keyInput.focus()
}

async function start (config: PageConfig): Promise<void> {
  const gateway = new Gateway(config)
  fill(status, h('p', {}, 'Reading what this gateway offers…'))
  let catalog: Catalog
  try {
    catalog = (await gateway.get<Catalog>(gateway.url('/usage'))).body
  } catch (error) {
    if (error instanceof Problem && error.status === 401) askForKey(true)
    fill(status, problemMessage(error))
    return
  }
  const offer = new Offer(catalog, config.routePrefix)
  const simulated = catalog.providers.filter((provider) => provider.status === 'simulated').map((provider) => provider.name)
  const missing = catalog.providers.filter((provider) => provider.status === 'not_configured').map((provider) => provider.name)
  byId('deployment').textContent = [
    simulated.length > 0 ? `Demo mode: ${simulated.join(' and ')} answered by the built-in simulators with made-up data.` : '',
    missing.length > 0 ? `Not configured here: ${missing.join(', ')}.` : ''
  ].filter((text) => text !== '').join(' ')
  status.replaceChildren()
  await Promise.all([showGupshup(gateway, offer), showApple(gateway, offer)])
}

async function boot (): Promise<void> {
  document.addEventListener('explorer:unauthorized', () => { askForKey(true) })
  let config: PageConfig
  try {
    config = await loadConfig()
  } catch (error) {
    fill(status, problemMessage(error))
    return
  }
  if (config.apiKeyRequired) askForKey(storedKey() === null)
  keyInput.value = storedKey() ?? ''
  keyForm.addEventListener('submit', (event) => {
    event.preventDefault()
    storeKey(keyInput.value.trim())
    inBackground(start(config))
  })
  byId('forget-key').addEventListener('click', () => {
    storeKey(null)
    keyInput.value = ''
    keyInput.focus()
  })
  await start(config)
}

inBackground(boot())
