/**
 * Gupshup Partner API usage reports, as data.
 */
import { metric } from '../../report.js'
import type { ReportEndpoint } from '../endpoint.js'

export interface GupshupEndpoint extends ReportEndpoint {
  provider: 'gupshup'
  /** Where the rows are in the upstream body: a list, or one object (one point). */
  rows: { field: string, single?: true }
  /** How a row names its day: a `date`, `day`/`month`/`year` fields, or the day it was fetched. */
  dayOf: 'date' | 'dayMonthYear' | 'fetched'
  /** The days a request covers: `from`..`to`, the `year`/`month`, or today. */
  range: 'fromTo' | 'month' | 'today'
  /** Row fields that describe the row rather than measure it. */
  descriptiveFields: string[]
  /**
   * Cached per day rather than per request. A day two or more days past is
   * settled and kept `settledTtlSeconds`; the days after still change and
   * are kept `ttlSeconds`.
   */
  daily?: { settledTtlSeconds: number }
  /** Kept this long once every day it covers is settled (a past month's figures do not change). */
  settledTtlSeconds?: number
}

export const gupshupEndpoints: GupshupEndpoint[] = [
  {
    provider: 'gupshup',
    key: 'gupshup.apps.dailyUsage',
    report: 'dailyUsage',
    route: '/usage/gupshup/apps/:appId',
    summary: "A WhatsApp app's daily messages, conversations and fees between two dates.",
    subject: { type: 'app', param: 'appId' },
    upstreamPath: '/partner/app/{id}/usage',
    query: { from: 'from', to: 'to' },
    paged: false,
    rows: { field: 'partnerAppUsageList' },
    dayOf: 'date',
    range: 'fromTo',
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
    ttlSeconds: 5 * 60,
    daily: { settledTtlSeconds: 24 * 3600 }
  },
  {
    provider: 'gupshup',
    key: 'gupshup.apps.discount',
    report: 'dailyDiscount',
    route: '/usage/gupshup/apps/:appId/discount',
    summary: "A WhatsApp app's daily bill, discount and running bill for one month.",
    subject: { type: 'app', param: 'appId' },
    upstreamPath: '/partner/app/{id}/discount',
    query: { year: 'year', month: 'month' },
    paged: false,
    rows: { field: 'dailyAppDiscountList' },
    dayOf: 'dayMonthYear',
    range: 'month',
    descriptiveFields: ['appId', 'partnerId', 'day', 'month', 'year', 'currency'],
    metrics: [
      metric('dailyBill', 'billDaily', 'currency'),
      metric('discount', 'discount', 'currency'),
      metric('gsFees', 'feesGupshup', 'currency'),
      metric('cumulativeBill', 'cumulativeBill', 'currency', false),
      metric('gsCap', 'gupshupFeeCap', 'currency', false)
    ],
    ttlSeconds: 5 * 60,
    settledTtlSeconds: 24 * 3600
  },
  {
    provider: 'gupshup',
    key: 'gupshup.apps.wallet',
    report: 'walletBalance',
    route: '/usage/gupshup/apps/:appId/wallet',
    summary: "A WhatsApp app's wallet balance and overdraft limit, now.",
    subject: { type: 'app', param: 'appId' },
    upstreamPath: '/partner/app/{id}/wallet/balance',
    query: {},
    paged: false,
    rows: { field: 'walletResponse', single: true },
    dayOf: 'fetched',
    range: 'today',
    descriptiveFields: ['currency'],
    metrics: [
      // Levels, not flows: a balance is never summed.
      metric('currentBalance', 'balance', 'currency', false),
      metric('overDraftLimit', 'overdraftLimit', 'currency', false)
    ],
    ttlSeconds: 60
  }
]
