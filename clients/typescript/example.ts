/**
 * An internal app calling the gateway through the typed client (the README's
 * "Calling from an internal app"; the tests type-check it and run it).
 */
import { createGatewayClient, GatewayProblem, type GatewayClient } from './index.js'

export function gatewayOf (env: Record<string, string | undefined>): GatewayClient {
  return createGatewayClient({ baseUrl: env.USAGE_GATEWAY_URL ?? 'http://127.0.0.1:3000', apiKey: env.USAGE_GATEWAY_KEY })
}

export interface WeekOfMessages {
  incoming: number
  outgoing: number
  fees: number
  /** The fees' ISO 4217 currency (`XXX` when the week had no traffic to say it). */
  currency: string
  /** Where the numbers came from: `HIT`, `MISS` or `STALE`. */
  cache: string | null
}

/** A WhatsApp app's messages and fees in the seven days to `lastDay`; undefined while the gateway asks to wait. */
export async function weekOfMessages (gateway: GatewayClient, appId: string, lastDay: Date): Promise<WeekOfMessages | undefined> {
  const day = (offset: number): string => new Date(lastDay.getTime() - offset * 86_400_000).toISOString().slice(0, 10)
  try {
    const { data, response } = await gateway.GET('/usage/gupshup/apps/{appId}', {
      params: { path: { appId }, query: { from: day(6), to: day(0) } }
    })
    return {
      incoming: data.totals.messagesIncoming ?? 0,
      outgoing: data.totals.messagesOutgoing ?? 0,
      fees: data.totals.feesTotal ?? 0, // a quiet day counts 0; `?? 0` guards a report with no point at all
      currency: data.units.feesTotal,
      cache: response.headers.get('x-cache')
    }
  } catch (error) {
    // A spent budget: retry after error.retryAfter seconds. Anything else (a 400 names error.parameter) is a bug or an outage.
    if (error instanceof GatewayProblem && error.status === 429) return undefined
    throw error
  }
}

/** The testers of an Apple app who opened no session in 30 days, every page followed by the gateway. */
export async function idleTesters (gateway: GatewayClient, appId: string): Promise<string[]> {
  const { data } = await gateway.GET('/usage/apple/apps/{appId}/beta-testers', {
    params: { path: { appId }, query: { period: 'P30D', all: true, limit: 200 } }
  })
  return data.data.filter((point) => point.metrics.sessions === 0).map((point) => point.dimensions.betaTester)
}
