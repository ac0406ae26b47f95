/**
 * Apple's directories, as data: the apps, an app's builds and its beta
 * groups, with the ids the report routes take and the names people use.
 */
import { DIRECTORY_TTL_SECONDS, rowOf, type DirectoryEndpoint } from '../../src/endpoint.js'
import { APP_EXAMPLE, appParams, BUILD_EXAMPLE, buildsQuery, GROUP_EXAMPLE, noParams, noQuery } from './params.js'

const row = rowOf<DirectoryEndpoint>()
const cache = { ttlSeconds: DIRECTORY_TTL_SECONDS }
const byApp = { type: 'app', param: 'appId' }

export const appleDirectories: DirectoryEndpoint[] = [
  row({
    kind: 'directory',
    provider: 'apple',
    key: 'apple.apps.directory',
    directory: 'apps',
    itemType: 'app',
    route: '/usage/apple/apps',
    summary: 'The apps this API key sees: the ids the app routes take, with their names and bundle ids.',
    subject: null,
    params: noParams,
    querystring: noQuery,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/v1/apps',
    upstreamQuery: { 'fields[apps]': 'name,bundleId,sku', limit: '200' },
    upstreamCursor: 'cursor',
    query: {},
    paged: false,
    allPages: true,
    labelFields: ['bundleId'],
    exampleItem: { type: 'app', id: APP_EXAMPLE, name: 'Acme Chat', attributes: { bundleId: 'com.acme.chat', sku: 'ACMECHAT' } },
    cache
  }),
  row({
    kind: 'directory',
    provider: 'apple',
    key: 'apple.apps.builds',
    directory: 'builds',
    itemType: 'build',
    route: '/usage/apple/apps/:appId/builds',
    summary: "An app's builds, newest first: the ids the build route takes, named like `1.4 (212)`.",
    subject: byApp,
    params: appParams,
    querystring: buildsQuery,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/v1/builds',
    upstreamQuery: {
      'filter[app]': '{id}',
      sort: '-uploadedDate',
      include: 'preReleaseVersion',
      'fields[builds]': 'version,uploadedDate,processingState,expired,preReleaseVersion',
      'fields[preReleaseVersions]': 'version,platform',
      limit: '50'
    },
    upstreamCursor: 'cursor',
    query: { limit: 'limit', cursor: null },
    paged: true,
    allPages: false,
    labelFields: [],
    exampleItem: {
      type: 'build',
      id: BUILD_EXAMPLE,
      name: '1.4 (212)',
      attributes: { version: '212', marketingVersion: '1.4', platform: 'IOS', uploadedDate: '2024-01-10T09:30:00.000+00:00', processingState: 'VALID', expired: false }
    },
    cache
  }),
  row({
    kind: 'directory',
    provider: 'apple',
    key: 'apple.apps.betaGroups',
    directory: 'betaGroups',
    itemType: 'betaGroup',
    route: '/usage/apple/apps/:appId/beta-groups',
    summary: "An app's beta groups: the ids the beta group routes take, with their names and public links.",
    subject: byApp,
    params: appParams,
    querystring: noQuery,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/v1/betaGroups',
    upstreamQuery: { 'filter[app]': '{id}', 'fields[betaGroups]': 'name,isInternalGroup,publicLinkEnabled,publicLink', limit: '200' },
    upstreamCursor: 'cursor',
    query: {},
    paged: false,
    allPages: true,
    labelFields: [],
    exampleItem: { type: 'betaGroup', id: GROUP_EXAMPLE, name: 'Public beta', attributes: { isInternalGroup: false, publicLinkEnabled: true, publicLink: 'https://testflight.apple.com/join/AbCdEf12' } },
    cache
  })
]
