/**
 * Gupshup's directory, as data: the WhatsApp apps the gateway holds a token
 * for or can get one for.
 */
import { DIRECTORY_TTL_SECONDS, rowOf, type DirectoryEndpoint } from '../../src/endpoint.js'
import { APP_EXAMPLE, noQuery } from './params.js'
import { Type } from 'typebox'

const row = rowOf<DirectoryEndpoint>()

/** Apps per page of the partner's app list. */
export const APP_LIST_PAGE_SIZE = 100

export const gupshupDirectories: DirectoryEndpoint[] = [
  row({
    kind: 'directory',
    provider: 'gupshup',
    key: 'gupshup.apps.directory',
    directory: 'apps',
    itemType: 'app',
    route: '/usage/gupshup/apps',
    summary: 'The WhatsApp apps the gateway holds a token for or can get one for (with partner sign-in: the partner app list), with their names.',
    subject: null,
    params: Type.Object({}),
    querystring: noQuery,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/partner/app/list',
    upstreamQuery: { pageSize: String(APP_LIST_PAGE_SIZE) },
    upstreamCursor: 'pageNo',
    query: {},
    paged: false,
    allPages: true,
    labelFields: [],
    exampleItem: { type: 'app', id: APP_EXAMPLE, name: 'Jan10pass', attributes: { live: true, stopped: false } },
    cache: { ttlSeconds: DIRECTORY_TTL_SECONDS }
  })
]
