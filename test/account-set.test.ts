/**
 * The account set's lifecycle across reloads: an unchanged account keeps its
 * source (its budgets and tokens), a changed or dropped one is closed only
 * after its requests in flight have had their time, and a reload that fails
 * half-way leaves the set as it was.
 */
import t from 'tap'
import { AccountSet, type AccountSections } from '../src/accounts/account-set.js'
import type { Source } from '../src/provider.js'
import { providers } from '../providers/index.js'

/** A source that only records when it is closed: the set's lifecycle is what is under test, not an upstream. */
function recordingFactory (closed: string[], made: string[], failOn?: string): ConstructorParameters<typeof AccountSet>[1] {
  return (provider, account, section) => {
    if (account === failOn) throw new Error('the client could not be made')
    const name = `${provider.name}:${account}:${JSON.stringify(section)}`
    made.push(name)
    return { fetchReport: async () => { throw new Error('not called') }, close: async () => { closed.push(name) } } satisfies Source
  }
}

const sections = (apple: Array<[string, unknown]>, gupshup: Array<[string, unknown]> = []): AccountSections => ({ apple, gupshup })

t.test('a reload keeps unchanged accounts, closes changed and dropped ones after the grace, never before', async (t) => {
  const closed: string[] = []
  const made: string[] = []
  const set = new AccountSet(providers, recordingFactory(closed, made), sections([['a', { key: 1 }], ['b', { key: 2 }], ['c', { key: 3 }]]), 50)
  const kept = set.source('apple', 'a')
  set.replace(sections([['a', { key: 1 }], ['b', { key: 20 }]], [['main', { token: 't' }]]))
  t.equal(set.source('apple', 'a'), kept, 'an unchanged account keeps its source')
  t.same(set.names('apple'), ['a', 'b'])
  t.same(set.names('gupshup'), ['main'])
  t.same(closed, [], 'nothing is closed while requests may still be in flight on it')
  t.not(set.cacheName('apple', 'b'), 'b', 'a named account is known to the caches by its name and a digest of its section')
  await new Promise<void>((resolve) => {
    const wait = (): void => { if (closed.length === 2) resolve(); else setTimeout(wait, 5) }
    wait()
  })
  t.same(closed.sort(), ['apple:b:{"key":2}', 'apple:c:{"key":3}'], 'the changed and the dropped account are closed after the grace')
  await set.close()
  t.same(closed.sort(), ['apple:a:{"key":1}', 'apple:b:{"key":20}', 'apple:b:{"key":2}', 'apple:c:{"key":3}', 'gupshup:main:{"token":"t"}'])
})

t.test('a reload whose client cannot be made leaves the set as it was, and closes what it made', async (t) => {
  const closed: string[] = []
  const made: string[] = []
  const set = new AccountSet(providers, recordingFactory(closed, made, 'broken'), sections([['a', { key: 1 }]]), 50)
  const before = set.source('apple', 'a')
  t.throws(() => { set.replace(sections([['a', { key: 1 }], ['new', { key: 5 }], ['broken', { key: 6 }]])) }, /could not be made/)
  t.equal(set.source('apple', 'a'), before)
  t.same(set.names('apple'), ['a'], 'the accounts are as they were')
  t.equal(set.source('apple', 'new'), undefined)
  await set.close()
  t.ok(closed.includes('apple:new:{"key":5}'), 'the client made for the failed reload is closed')
})

t.test('closing the set closes the sources still waiting out their grace at once', async (t) => {
  const closed: string[] = []
  const set = new AccountSet(providers, recordingFactory(closed, []), sections([['a', { key: 1 }]]), 60_000)
  set.replace(sections([]))
  t.same(closed, [])
  await set.close()
  t.same(closed, ['apple:a:{"key":1}'], 'no timer keeps the process waiting, nothing is left open')
})
