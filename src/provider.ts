/**
 * The provider contract: everything the gateway knows of one upstream comes
 * through one object of this shape, listed in the registry
 * (providers/index.ts). The core, the plugins and the routes loop over the
 * registry and never name a provider.
 *
 * Methods (not function properties) on purpose: a provider's own row type and
 * configuration stay assignable to the general contract; the gateway only ever
 * hands a provider's source its own rows and its own configuration.
 */
import type { Dispatcher } from 'undici'
import type { Env } from './config.js'
import type { DayRow } from './days.js'
import type { FetchedDirectory, LabelLookup } from './directory.js'
import type { DirectoryEndpoint, QueryValues, ReportEndpoint } from './endpoint.js'
import type { GatewayObserver } from './observer.js'
import type { FetchedReport } from './report.js'
import type { BackoffGate, Budget } from './upstream/budget.js'
import type { CallerShares } from './upstream/caller-shares.js'
import type { CallContext } from './upstream-timing.js'

/** What the gateway lends every provider's source. */
export interface SourceDeps {
  /** undici dispatcher for upstream calls (tests pass a MockAgent). */
  dispatcher?: Dispatcher
  now: () => number
  /** UPSTREAM_TIMEOUT_MS: one deadline per upstream request, retries included. */
  timeoutMs: number
  /** Retries of a failed upstream call (network error, 5xx), with their base back-off. */
  retries: { maxRetries: number, retryBaseMs: number }
  observer: GatewayObserver
  /**
   * A sliding-window call budget named `name` within the provider: shared by the
   * replicas through Redis when there is one (each keeps to half of it while
   * Redis is down), else local.
   */
  budget: (name: string, limit: number, windowMs: number) => Budget
  /** UPSTREAM_MAX_BACKOFF_SECONDS: the longest an upstream's Retry-After holds a credential. */
  maxBackoffMs: number
  /** A credential's 429 back-off, doubling from `baseMs`, capped by maxBackoffMs. */
  backoff: (baseMs: number) => BackoffGate
  /** Each caller's share (UPSTREAM_SHARE_PER_CALLER) of a credential's budget window of `limitOf(key)` calls. */
  shares: (windowMs: number, limitOf: (key: string) => number) => CallerShares
}

/** One provider's upstream, as the usage service sees every provider. */
export interface Source<E extends ReportEndpoint = ReportEndpoint> {
  /** Throws (e.g. unknown_app) before any upstream call for a subject no credential serves. */
  assertKnownSubject? (endpoint: E, id: string): void
  /** `context` says whose request the upstream calls are charged to. */
  fetchReport (endpoint: E, id: string, query: QueryValues, context: CallContext): Promise<FetchedReport>
  /** The days the upstream has for the subject in [from, to] (rows with `cache.daily`). */
  fetchDays? (endpoint: E, id: string, from: string, to: string, context: CallContext): Promise<Map<string, DayRow>>
  /** Cached or fetched days → the report (rows with `cache.daily`). */
  reportOf? (endpoint: E, id: string, days: Array<[string, DayRow | null]>): FetchedReport
  /** One page of a directory (`query.cursor`: the upstream cursor of the page), or its only page. */
  fetchDirectory? (endpoint: DirectoryEndpoint, id: string, query: QueryValues, context: CallContext): Promise<FetchedDirectory>
  /**
   * Labels of `ids` of one kind (`betaTester`, `app`...): what the source could
   * find, and whether a lookup failed. Never throws for a failed lookup.
   */
  labels? (kind: string, ids: readonly string[], context: CallContext): Promise<LabelLookup>
  /**
   * The id of the top-level subject (an app) that a subject of `type` belongs to, as this
   * credential sees it: one upstream call. Throws NotFoundError when the credential cannot
   * see the subject (the owner search then asks the next account).
   */
  parentOf? (type: string, id: string, context: CallContext): Promise<string>
  /** The upstream's last quota figures per credential (`/metrics`, when the provider has `quotaMetric`). */
  quota? (): Record<string, Record<string, number>>
  close (): Promise<void>
}

export interface SimulatorOptions {
  /** How the Apple-like simulators shape their answers: like the upstream's examples or like its schema. */
  style?: 'example' | 'schema'
  now?: () => number
}

/** A provider's stand-in upstream on loopback, and how to point a configuration at it. */
export interface RunningSimulator<Cfg = unknown> {
  baseUrl: string
  /** `cfg` pointed at this simulator, with credentials it accepts. */
  configure (cfg: Cfg): Cfg
  close (): Promise<void>
}

export interface Provider<Name extends string = string, Cfg = unknown, E extends ReportEndpoint = ReportEndpoint> {
  name: Name
  /** The OpenAPI tag (named after the provider) that groups its routes. */
  tag: { description: string }
  endpoints: readonly E[]
  /** Its directory rows: the apps, builds and groups its reports are about. */
  directories?: readonly DirectoryEndpoint[]
  config: {
    /** The provider's section of the environment; throws ConfigError naming the variable, never its value. */
    parse (env: Env): Cfg
    /** Whether it has credentials: without, its routes answer 503 (or demo mode simulates it). */
    isConfigured (cfg: Cfg): boolean
  }
  createSource (cfg: Cfg, deps: SourceDeps): Source<E>
  simulator: { start (options: SimulatorOptions): Promise<RunningSimulator<Cfg>> }
  /** A gauge `gateway_<name>_quota_remaining` of the source's `quota()` figures, with this help. */
  quotaMetric?: { help: string }
}

/** The configuration sections of a list of providers, by name. */
export type ConfigsOf<L extends readonly Provider[]> = { [P in L[number] as P['name']]: ReturnType<P['config']['parse']> }

/** The running simulators of a list of providers, by name. */
export type SimulatorsOf<L extends readonly Provider[]> = { [P in L[number] as P['name']]: Awaited<ReturnType<P['simulator']['start']>> }
