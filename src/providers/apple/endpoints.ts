/**
 * Apple's TestFlight metrics reports, as data. Adding a report is adding a row.
 */
import { metric } from '../../report.js'
import type { ReportEndpoint } from '../endpoint.js'

export interface AppleEndpoint extends ReportEndpoint {
  provider: 'apple'
  /** Upstream dimension → normalized dimension name. */
  dimensions: Record<string, string>
  /** Apple wants `groupBy` unless the named gateway filter is given. */
  groupByUnlessFiltered?: { filter: string, groupBy: string }
}

// TestFlight metrics change at most daily.
const METRICS_TTL_SECONDS = 15 * 60

const testerMetrics = [
  metric('crashCount', 'crashes'),
  metric('sessionCount', 'sessions'),
  metric('feedbackCount', 'feedback')
]

export const appleEndpoints: AppleEndpoint[] = [
  {
    provider: 'apple',
    key: 'apple.builds.betaBuildUsages',
    report: 'betaBuildUsages',
    route: '/usage/apple/builds/:buildId',
    summary: 'TestFlight usage of one build: installs, crashes, sessions, invites and feedback.',
    subject: { type: 'build', param: 'buildId' },
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
    ttlSeconds: METRICS_TTL_SECONDS
  },
  {
    provider: 'apple',
    key: 'apple.apps.betaTesterUsages',
    report: 'betaTesterUsages',
    route: '/usage/apple/apps/:appId/beta-testers',
    summary: "TestFlight usage of an app's beta testers, one point per tester (or one tester's).",
    subject: { type: 'app', param: 'appId' },
    upstreamPath: '/v1/apps/{id}/metrics/betaTesterUsages',
    query: { period: 'period', testerId: 'filter[betaTesters]', limit: 'limit', cursor: 'cursor' },
    paged: true,
    dimensions: { betaTesters: 'betaTester' },
    groupByUnlessFiltered: { filter: 'testerId', groupBy: 'betaTesters' },
    metrics: testerMetrics,
    ttlSeconds: METRICS_TTL_SECONDS
  }
]
