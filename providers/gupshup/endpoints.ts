/**
 * Gupshup Partner API usage reports, as data.
 */
import { rowOf, type CachePolicy, type ReportEndpoint } from '../../src/endpoint.js'
import { metric } from '../../src/report.js'
import { monthRange, rangeFromTo, today } from './normalize.js'
import { Type } from 'typebox'
import { APP_EXAMPLE, appParams, appsRangeQuery, checkAppsRange, checkDateRange, checkMonth, MAX_APPS, monthQuery, noQuery, rangeQuery, padDates, padMonth } from './params.js'

export interface GupshupEndpoint extends ReportEndpoint {
  provider: 'gupshup'
  /** Where the rows are in the upstream body: a list, or one object (one point). */
  rows: { field: string, single?: true }
  /** How a row names its day: a `date`, `day`/`month`/`year` fields, or the day it was fetched. */
  dayOf: 'date' | 'dayMonthYear' | 'fetched'
  /** Row fields that describe the row rather than measure it. */
  descriptiveFields: string[]
  /** Every Gupshup report covers days: `from`..`to`, the `year`/`month`, or today. */
  cache: CachePolicy & Required<Pick<CachePolicy, 'rangeOf'>>
}

const row = rowOf<GupshupEndpoint>()

/** A day two or more days past is settled: its figures no longer change. */
const SETTLED_TTL_SECONDS = 24 * 3600

const dailyUsage = row({
  provider: 'gupshup',
  key: 'gupshup.apps.dailyUsage',
  report: 'dailyUsage',
  route: '/usage/gupshup/apps/:appId',
  summary: "A WhatsApp app's daily messages, conversations and fees between two dates.",
  subject: { type: 'app', param: 'appId' },
  params: appParams,
  exampleId: APP_EXAMPLE,
  upstreamPath: '/partner/app/{id}/usage',
  querystring: rangeQuery,
  check: checkDateRange,
  normalize: padDates,
  query: { from: 'from', to: 'to', granularity: null },
  paged: false,
  rows: { field: 'partnerAppUsageList' },
  dayOf: 'date',
  descriptiveFields: ['appId', 'appName', 'currency', 'date'],
  metrics: [
    metric('totalMsg', 'messages'),
    metric('incomingMsg', 'messagesIncoming'),
    metric('outgoingMsg', 'messagesOutgoing'),
    metric('outgoingMediaMsg', 'messagesOutgoingMedia'),
    metric('templateMsg', 'templateMessages'),
    metric('templateMediaMsg', 'templateMediaMessages'),
    metric('marketing', 'conversationsMarketing'),
    metric('utility', 'conversationsUtility'),
    metric('authentication', 'conversationsAuthentication'),
    metric('internationalAuthentication', 'conversationsAuthenticationInternational'),
    metric('service', 'conversationsService'),
    metric('fep', 'freeEntryPoint'),
    metric('ftc', 'freeTier'),
    metric('totalFees', 'feesTotal', 'currency'),
    metric('gsFees', 'feesGupshup', 'currency'),
    metric('waFees', 'feesWhatsApp', 'currency'),
    metric('discount', 'discount', 'currency'),
    // A running total and a cap: summing them over days means nothing; a week's is its last day's, or its highest.
    metric('cumulativeBill', 'cumulativeBill', 'currency', false, 'last'),
    metric('gsCap', 'gupshupFeeCap', 'currency', false, 'max')
  ],
  // Cached per day rather than per request: settled days long, recent days briefly.
  cache: { ttlSeconds: 5 * 60, settledTtlSeconds: SETTLED_TTL_SECONDS, daily: true, rangeOf: rangeFromTo },
  buckets: true
})

/** Every app's daily usage in one report: each app's days from its own cache, 4 apps at a time. */
const usageOfApps = row({
  ...dailyUsage,
  key: 'gupshup.usage',
  report: 'dailyUsage',
  route: '/usage/gupshup/usage',
  summary: "Many WhatsApp apps' daily messages, conversations and fees between two dates, in one report (a point per app and day, week or month).",
  subject: { type: 'provider', param: '' },
  params: Type.Object({}),
  querystring: appsRangeQuery,
  check: checkAppsRange,
  query: { from: 'from', to: 'to', apps: null, granularity: null, strict: null },
  // App tokens have budgets of their own: a few apps at once, not one after another.
  fanOut: { over: dailyUsage, param: 'apps', dimension: 'app', maxSubjects: MAX_APPS, concurrency: 4 }
})

export const gupshupEndpoints: GupshupEndpoint[] = [
  dailyUsage,
  usageOfApps,
  row({
    provider: 'gupshup',
    key: 'gupshup.apps.discount',
    report: 'dailyDiscount',
    route: '/usage/gupshup/apps/:appId/discount',
    summary: "A WhatsApp app's daily bill, discount and running bill for one month.",
    subject: { type: 'app', param: 'appId' },
    params: appParams,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/partner/app/{id}/discount',
    querystring: monthQuery,
    normalize: padMonth,
    check: checkMonth,
    query: { year: 'year', month: 'month', granularity: null },
    paged: false,
    rows: { field: 'dailyAppDiscountList' },
    dayOf: 'dayMonthYear',
    descriptiveFields: ['appId', 'partnerId', 'day', 'month', 'year', 'currency'],
    metrics: [
      metric('dailyBill', 'billDaily', 'currency'),
      metric('discount', 'discount', 'currency'),
      metric('gsFees', 'feesGupshup', 'currency'),
      metric('cumulativeBill', 'cumulativeBill', 'currency', false, 'last'),
      metric('gsCap', 'gupshupFeeCap', 'currency', false, 'max')
    ],
    // A past month's figures do not change.
    cache: { ttlSeconds: 5 * 60, settledTtlSeconds: SETTLED_TTL_SECONDS, rangeOf: monthRange },
    buckets: true
  }),
  row({
    provider: 'gupshup',
    key: 'gupshup.apps.wallet',
    report: 'walletBalance',
    route: '/usage/gupshup/apps/:appId/wallet',
    summary: "A WhatsApp app's wallet balance and overdraft limit, now.",
    subject: { type: 'app', param: 'appId' },
    params: appParams,
    exampleId: APP_EXAMPLE,
    upstreamPath: '/partner/app/{id}/wallet/balance',
    querystring: noQuery,
    query: {},
    paged: false,
    rows: { field: 'walletResponse', single: true },
    dayOf: 'fetched',
    descriptiveFields: ['currency'],
    metrics: [
      // Levels, not flows: a balance is never summed.
      metric('currentBalance', 'balance', 'currency', false),
      metric('overDraftLimit', 'overdraftLimit', 'currency', false)
    ],
    cache: { ttlSeconds: 60, rangeOf: today }
  })
]
