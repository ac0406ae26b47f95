/**
 * Gupshup Partner API usage reports, as data.
 */
import { metric } from '../../report.js'
import type { ReportEndpoint } from '../endpoint.js'

export interface GupshupEndpoint extends ReportEndpoint {
  provider: 'gupshup'
  /** The array of daily rows in the upstream body. */
  listField: string
  /** Row fields that describe the row rather than measure it. */
  descriptiveFields: string[]
  /**
   * Cached per day rather than per range. A day two or more days past is
   * settled and kept `settledTtlSeconds`; today and yesterday still change
   * and are kept `ttlSeconds`.
   */
  daily: { settledTtlSeconds: number }
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
    listField: 'partnerAppUsageList',
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
  }
]
