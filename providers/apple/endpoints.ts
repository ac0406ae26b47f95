/**
 * Apple's TestFlight metrics reports, as data. Adding a report is adding a row.
 */
import { rowOf, type ReportEndpoint } from '../../src/endpoint.js'
import { metric } from '../../src/report.js'
import {
  APP_EXAMPLE, appParams, BUILD_EXAMPLE, buildParams, buildUsagesQuery, MAX_LAST_BUILDS, GROUP_EXAMPLE, groupParams, noQuery, pageQuery,
  TESTER_EXAMPLE, testerAppQuery, testerParams, testerQuery
} from './params.js'

export interface AppleEndpoint extends ReportEndpoint {
  provider: 'apple'
  /** Upstream dimension → normalized dimension name. */
  dimensions: Record<string, string>
  /** Apple wants `groupBy` unless the named gateway filter is given. */
  groupByUnlessFiltered?: { filter: string, groupBy: string }
}

const row = rowOf<AppleEndpoint>()

// TestFlight metrics change at most daily.
const cache = { ttlSeconds: 15 * 60 }

const byTester = { filter: 'testerId', groupBy: 'betaTesters' }

const testerMetrics = [
  metric('crashCount', 'crashes'),
  metric('sessionCount', 'sessions'),
  metric('feedbackCount', 'feedback')
]

/** The testers of an app or of a beta group: the same query, dimension and metrics. */
function testerUsagesOf (fields: Pick<AppleEndpoint, 'key' | 'route' | 'summary' | 'subject' | 'upstreamPath' | 'params' | 'exampleId'>): AppleEndpoint {
  return row({
    provider: 'apple',
    report: 'betaTesterUsages',
    querystring: testerQuery,
    query: { period: 'period', testerId: 'filter[betaTesters]', limit: 'limit', cursor: 'cursor', all: null },
    paged: true,
    dimensions: { betaTesters: 'betaTester' },
    groupByUnlessFiltered: byTester,
    metrics: testerMetrics,
    cache,
    ...fields
  })
}

/** One build's usage: the report of its betaBuildUsages. */
const buildUsages = row({
  provider: 'apple',
  key: 'apple.builds.betaBuildUsages',
  report: 'betaBuildUsages',
  route: '/usage/apple/builds/:buildId',
  summary: 'TestFlight usage of one build: installs, crashes, sessions, invites and feedback.',
  subject: { type: 'build', param: 'buildId' },
  params: buildParams,
  querystring: noQuery,
  exampleId: BUILD_EXAMPLE,
  upstreamPath: '/v1/builds/{id}/metrics/betaBuildUsages',
  query: {},
  paged: false,
  dimensions: {},
  metrics: [
    metric('installCount', 'installs'),
    metric('crashCount', 'crashes'),
    metric('sessionCount', 'sessions'),
    metric('inviteCount', 'invites'),
    metric('feedbackCount', 'feedback')
  ],
  cache
})

/** An app's last builds, one point per build (its usage summed), newest first, named as the builds directory names them. */
const appBuildUsages = row({
  ...buildUsages,
  key: 'apple.apps.buildUsages',
  route: '/usage/apple/apps/:appId/build-usages',
  summary: "TestFlight usage of an app's most recent builds: one point per build (installs, crashes, sessions, invites, feedback), newest first, with the builds' names.",
  subject: { type: 'app', param: 'appId' },
  params: appParams,
  querystring: buildUsagesQuery,
  query: { last: null },
  exampleId: APP_EXAMPLE,
  // Each build's report comes from its own cache; Apple's budget is per key, so a few at once.
  fanOut: {
    over: buildUsages,
    fromDirectory: { directory: 'builds', count: 'last', defaultCount: 10 },
    dimension: 'build',
    onePointPerSubject: true,
    maxSubjects: MAX_LAST_BUILDS,
    concurrency: 4
  }
})

export const appleEndpoints: AppleEndpoint[] = [
  buildUsages,
  appBuildUsages,
  testerUsagesOf({
    key: 'apple.apps.betaTesterUsages',
    route: '/usage/apple/apps/:appId/beta-testers',
    summary: "TestFlight usage of an app's beta testers, one point per tester (or one tester's).",
    subject: { type: 'app', param: 'appId' },
    params: appParams,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/v1/apps/{id}/metrics/betaTesterUsages'
  }),
  testerUsagesOf({
    key: 'apple.betaGroups.betaTesterUsages',
    route: '/usage/apple/beta-groups/:groupId/beta-testers',
    summary: "TestFlight usage of a beta group's testers, one point per tester (or one tester's).",
    subject: { type: 'betaGroup', param: 'groupId' },
    params: groupParams,
    exampleId: GROUP_EXAMPLE,
    upstreamPath: '/v1/betaGroups/{id}/metrics/betaTesterUsages'
  }),
  row({
    provider: 'apple',
    key: 'apple.betaGroups.publicLinkUsages',
    report: 'publicLinkUsages',
    route: '/usage/apple/beta-groups/:groupId/public-link',
    summary: "How a beta group's public TestFlight link did: views, acceptances and why people declined.",
    subject: { type: 'betaGroup', param: 'groupId' },
    params: groupParams,
    querystring: pageQuery,
    exampleId: GROUP_EXAMPLE,
    upstreamPath: '/v1/betaGroups/{id}/metrics/publicLinkUsages',
    query: { limit: 'limit', cursor: 'cursor', all: null },
    paged: true,
    dimensions: {},
    metrics: [
      metric('viewCount', 'views'),
      metric('acceptedCount', 'accepted'),
      metric('didNotAcceptCount', 'didNotAccept'),
      metric('didNotMeetCriteriaCount', 'didNotMeetCriteria'),
      metric('notRelevantRatio', 'notRelevantRatio', 'ratio'),
      metric('notClearRatio', 'notClearRatio', 'ratio'),
      metric('notInterestingRatio', 'notInterestingRatio', 'ratio')
    ],
    cache
  }),
  row({
    provider: 'apple',
    key: 'apple.betaTesters.betaTesterUsages',
    report: 'betaTesterUsages',
    route: '/usage/apple/beta-testers/:testerId',
    summary: "One beta tester's TestFlight usage of one app.",
    subject: { type: 'betaTester', param: 'testerId' },
    params: testerParams,
    querystring: testerAppQuery,
    exampleId: TESTER_EXAMPLE,
    upstreamPath: '/v1/betaTesters/{id}/metrics/betaTesterUsages',
    // A tester is seen through an app: the one `appId` names is what accounts own and scopes name.
    ownedVia: { query: 'appId' },
    query: { appId: 'filter[apps]', period: 'period', limit: 'limit', cursor: 'cursor', all: null },
    paged: true,
    dimensions: { apps: 'app' },
    metrics: testerMetrics,
    cache
  })
]
