/**
 * Apple's TestFlight metrics reports, as data. Adding a report is adding a row.
 */
import { rowOf, type ReportEndpoint } from '../../src/endpoint.js'
import { metric } from '../../src/report.js'
import {
  APP_EXAMPLE, appParams, BUILD_EXAMPLE, buildParams, GROUP_EXAMPLE, groupParams, noQuery, pageQuery,
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

export const appleEndpoints: AppleEndpoint[] = [
  row({
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
  }),
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
    query: { appId: 'filter[apps]', period: 'period', limit: 'limit', cursor: 'cursor', all: null },
    paged: true,
    dimensions: { apps: 'app' },
    metrics: testerMetrics,
    cache
  })
]
