/**
 * Apple's resources (apps, builds, beta groups, testers) → directory items
 * and labels. Tester names and emails are personal data: they go into labels
 * only, never into a log line or an error.
 */
import type { DirectoryItem, Label } from '../../src/directory.js'
import type { AppleResource } from './schemas.js'

type Attributes = Record<string, unknown>

const text = (attributes: Attributes, name: string): string | null => typeof attributes[name] === 'string' ? attributes[name] : null
const flag = (attributes: Attributes, name: string): boolean | null => typeof attributes[name] === 'boolean' ? attributes[name] : null

/** `1.4 (212)`, or the build number alone when Apple sends no pre-release version. */
export function buildName (buildNumber: string | null, marketingVersion: string | null): string | null {
  if (buildNumber === null) return marketingVersion
  return marketingVersion === null ? buildNumber : `${marketingVersion} (${buildNumber})`
}

/** The pre-release version a build's relationship points at, among `included`. */
function preReleaseOf (build: AppleResource, included: readonly AppleResource[]): Attributes {
  const ref = build.relationships?.preReleaseVersion?.data
  if (ref === undefined || ref === null || Array.isArray(ref)) return {}
  return included.find((resource) => resource.type === 'preReleaseVersions' && resource.id === ref.id)?.attributes ?? {}
}

/** One resource of a directory's list as its item (`directory`: the row's directory name). */
export function itemOf (directory: string, resource: AppleResource, included: readonly AppleResource[]): DirectoryItem {
  const attributes = resource.attributes ?? {}
  switch (directory) {
    case 'apps':
      return { type: 'app', id: resource.id, name: text(attributes, 'name'), attributes: { bundleId: text(attributes, 'bundleId'), sku: text(attributes, 'sku') } }
    case 'builds': {
      const version = preReleaseOf(resource, included)
      const buildNumber = text(attributes, 'version')
      const marketingVersion = text(version, 'version')
      return {
        type: 'build',
        id: resource.id,
        name: buildName(buildNumber, marketingVersion),
        attributes: {
          version: buildNumber,
          marketingVersion,
          platform: text(version, 'platform'),
          uploadedDate: text(attributes, 'uploadedDate'),
          processingState: text(attributes, 'processingState'),
          expired: flag(attributes, 'expired')
        }
      }
    }
    default:
      return {
        type: 'betaGroup',
        id: resource.id,
        name: text(attributes, 'name'),
        attributes: { isInternalGroup: flag(attributes, 'isInternalGroup'), publicLinkEnabled: flag(attributes, 'publicLinkEnabled'), publicLink: text(attributes, 'publicLink') }
      }
  }
}

/** A tester's label: an anonymous public-link tester has no name (nor email). */
export function testerLabel (tester: AppleResource): Label {
  const attributes = tester.attributes ?? {}
  if (attributes.inviteType === 'PUBLIC_LINK' && text(attributes, 'email') === null) return { name: null, email: null }
  const name = [text(attributes, 'firstName'), text(attributes, 'lastName')].filter((part) => part !== null && part !== '').join(' ')
  return { name: name === '' ? null : name, email: text(attributes, 'email') }
}

/** How each kind of subject is looked up one at a time, and read into its label. */
export const SUBJECT_LOOKUPS: Record<string, { path: (id: string) => string, label: (resource: AppleResource, included: readonly AppleResource[]) => Label }> = {
  app: {
    path: (id) => `/v1/apps/${encodeURIComponent(id)}?fields[apps]=name,bundleId`,
    label: (app) => ({ name: text(app.attributes ?? {}, 'name'), bundleId: text(app.attributes ?? {}, 'bundleId') })
  },
  build: {
    path: (id) => `/v1/builds/${encodeURIComponent(id)}?include=preReleaseVersion&fields[builds]=version&fields[preReleaseVersions]=version`,
    label: (build, included) => ({ name: itemOf('builds', build, included).name })
  },
  betaGroup: {
    path: (id) => `/v1/betaGroups/${encodeURIComponent(id)}?fields[betaGroups]=name`,
    label: (group) => ({ name: text(group.attributes ?? {}, 'name') })
  }
}
