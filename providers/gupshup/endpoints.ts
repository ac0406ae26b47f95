/**
 * Gupshup Partner API usage reports, as data.
 */
import { rowOf, type CachePolicy, type ReportEndpoint } from '../../src/endpoint.js'
import { metric } from '../../src/report.js'
import { monthRange, rangeFromTo, today } from './normalize.js'
import { APP_EXAMPLE, appParams, checkDateRange, checkMonth, monthQuery, noQuery, rangeQuery, padDates, padMonth } from './params.js'

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

export const gupshupEndpoints: GupshupEndpoint[] = [
  row({
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
    query: { from: 'from', to: 'to' },
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
      // A running total and a cap: summing them over days means nothing.
      metric('cumulativeBill', 'cumulativeBill', 'currency', false),
      metric('gsCap', 'gupshupFeeCap', 'currency', false)
    ],
    // Cached per day rather than per request: settled days long, recent days briefly.
    cache: { ttlSeconds: 5 * 60, settledTtlSeconds: SETTLED_TTL_SECONDS, daily: true, rangeOf: rangeFromTo }
  }),
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
    query: { year: 'year', month: 'month' },
    paged: false,
    rows: { field: 'dailyAppDiscountList' },
    dayOf: 'dayMonthYear',
    descriptiveFields: ['appId', 'partnerId', 'day', 'month', 'year', 'currency'],
    metrics: [
      metric('dailyBill', 'billDaily', 'currency'),
      metric('discount', 'discount', 'currency'),
      metric('gsFees', 'feesGupshup', 'currency'),
      metric('cumulativeBill', 'cumulativeBill', 'currency', false),
      metric('gsCap', 'gupshupFeeCap', 'currency', false)
    ],
    // A past month's figures do not change.
    cache: { ttlSeconds: 5 * 60, settledTtlSeconds: SETTLED_TTL_SECONDS, rangeOf: monthRange }
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
