/**
 * Directories (the apps, builds and groups a provider's reports are about)
 * and labels (the names beside the ids a report shows): their shapes, the
 * `Directory` schema, CSV, and the `labels` query parameter every report takes.
 */
import { Type, type TObject, type TSchema } from 'typebox'
import { cell } from './csv.js'
import { NAME_PATTERN } from './accounts/grants.js'
import { providerNameSchema } from './report.js'

export interface DirectoryItem {
  type: string
  id: string
  /** The account that lists it (set by the usage service, not by providers). */
  account?: string
  /** null where the upstream does not say. */
  name: string | null
  attributes: Record<string, string | number | boolean | null>
}

/** What a provider hands back for one directory request (one page, or every page when its row says so). */
export interface FetchedDirectory {
  provider: string
  directory: string
  subject: { type: string, id: string } | null
  items: DirectoryItem[]
  paging: { total: number, limit: number | null }
  /** The upstream cursor of the next page, or null. */
  nextCursor: string | null
}

export interface DirectoryAnswer extends Omit<FetchedDirectory, 'nextCursor' | 'paging'> {
  /** The account whose directory it is; null when it lists several accounts' items. */
  account: string | null
  paging: { total: number, limit: number | null, next: string | null }
}

/** A name and what else identifies an id to a person (`email`, `bundleId`); a value is null where unknown. */
export type Label = Record<string, string | null> & { name: string | null }

/** Kind (dimension or subject type) → id → label. */
export type Labels = Record<string, Record<string, Label>>

/** A provider's answer to a label lookup: the labels it found; `failed` when some could not be looked up. */
export interface LabelLookup {
  found: Record<string, Label>
  failed: boolean
}

const Attribute = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])

export const directorySchema = (providerNames: readonly string[]): TSchema => Type.Object({
  provider: providerNameSchema(providerNames),
  directory: Type.String({ description: 'What the items are: `apps`, `builds`, `betaGroups`.' }),
  subject: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()], { description: 'Whose items they are (the app of its builds), or null.' }),
  account: Type.Union([Type.String(), Type.Null()], { description: 'The provider account whose directory it is; null when it lists the items of several (each item says).' }),
  items: Type.Array(Type.Object({
    type: Type.String({ description: '`app`, `build`, `betaGroup`.' }),
    id: Type.String({ description: 'The id the report routes take.' }),
    account: Type.String({ description: 'The provider account that lists it.' }),
    name: Type.Union([Type.String(), Type.Null()], { description: 'What people call it (a build: `1.4 (212)`); null where unknown.' }),
    attributes: Type.Record(Type.String(), Attribute)
  })),
  paging: Type.Object({
    total: Type.Integer(),
    limit: Type.Union([Type.Integer(), Type.Null()]),
    next: Type.Union([Type.String(), Type.Null()], { description: 'Gateway path of the next page, or null on the last page.' })
  })
}, { $id: 'Directory', title: 'Directory' })

const LabelsParam = Type.Boolean({
  description: 'Put names beside ids (`labels`): apps, builds, groups and beta testers (their names and emails are personal data). A lookup that fails leaves its labels out and says `labelsIncomplete: true`.'
})

const AccountParam = Type.String({
  pattern: NAME_PATTERN,
  maxLength: 64,
  description: 'The provider account to ask (`account`): without it, the account that owns the subject among those the API key may use. 403 for an account the key may not use.',
  examples: ['default']
})

/** A report row's querystring with `labels` and `account` added: every report route takes them. */
export function withLabelsParam (querystring: TObject): TObject {
  return Type.Object({ ...querystring.properties, labels: Type.Optional(LabelsParam), account: Type.Optional(AccountParam) }, { additionalProperties: false })
}

/** A directory row's querystring with `account` added. */
export function withAccountParam (querystring: TObject): TObject {
  return Type.Object({ ...querystring.properties, account: Type.Optional(AccountParam) }, { additionalProperties: false })
}

/** A directory as CSV: `id`, `name`, `account`, then each attribute. */
export function directoryToCsv (directory: DirectoryAnswer): string {
  const attributes = [...new Set(directory.items.flatMap((item) => Object.keys(item.attributes)))]
  const rows = [['id', 'name', 'account', ...attributes].map(cell).join(',')]
  for (const item of directory.items) {
    rows.push([item.id, item.name ?? undefined, item.account, ...attributes.map((name) => {
      const value = item.attributes[name]
      return value === null || value === undefined ? undefined : typeof value === 'boolean' ? String(value) : value
    })].map(cell).join(','))
  }
  return `${rows.join('\r\n')}\r\n`
}
