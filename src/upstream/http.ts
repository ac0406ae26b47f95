/**
 * One keep-alive connection pool per upstream, with connect, headers, body
 * and overall deadlines. Turns transport failures into typed errors; what a
 * status code means is the provider client's business.
 */
import { Agent, type Dispatcher } from 'undici'
import { UpstreamError, UpstreamInvalidResponseError, UpstreamTimeoutError } from '../errors.js'

export interface UpstreamResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  json: unknown
}

export interface UpstreamHttpOptions {
  provider: string
  baseUrl: string
  timeoutMs: number
  /** Most calls in flight at once (Apple answers 429 to bursts even with quota left). */
  connections?: number
  /** Tests pass undici's MockAgent here. */
  dispatcher?: Dispatcher
}

// A metrics page is kilobytes; anything near this is not a metrics page.
const MAX_BODY_BYTES = 16 * 1024 * 1024

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** A deadline that aborts after `timeoutMs` unless cleared first. */
export interface Deadline { signal: AbortSignal, clear: () => void }

/**
 * AbortSignal.timeout's timer cannot be cleared: it fires after every call,
 * long over, and builds its DOMException (a stack trace) each time (6% of a
 * cold miss's samples, bench/NOTES.md). This one is cleared when the call ends.
 */
export function deadlineAfter (timeoutMs: number): Deadline {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, timeoutMs)
  // Like AbortSignal.timeout's, it keeps no process alive.
  timer.unref()
  return { signal: controller.signal, clear: () => { clearTimeout(timer) } }
}

export class UpstreamHttp {
  readonly provider: string
  readonly baseUrl: string
  readonly origin: string
  private readonly pathPrefix: string
  private readonly timeoutMs: number
  private readonly dispatcher: Dispatcher
  private readonly ownsDispatcher: boolean

  constructor (options: UpstreamHttpOptions) {
    const url = new URL(options.baseUrl)
    this.provider = options.provider
    this.baseUrl = options.baseUrl
    this.origin = url.origin
    this.pathPrefix = url.pathname.replace(/\/+$/, '')
    this.timeoutMs = options.timeoutMs
    this.ownsDispatcher = options.dispatcher === undefined
    this.dispatcher = options.dispatcher ?? new Agent({
      connections: options.connections ?? 32,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(options.timeoutMs, 5_000) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs
    })
  }

  /**
   * GET `path` (already encoded) under the base URL; never follows redirects.
   * `signal` is the caller's deadline (retries share one); else UPSTREAM_TIMEOUT_MS.
   */
  async get (path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<UpstreamResponse> {
    if (signal !== undefined) return await this.request('GET', path, headers, undefined, signal)
    const deadline = deadlineAfter(this.timeoutMs)
    try {
      return await this.request('GET', path, headers, undefined, deadline.signal)
    } finally {
      deadline.clear()
    }
  }

  /** A form POST (Gupshup's partner login). Never retried: the caller decides. */
  async postForm (path: string, form: Record<string, string>): Promise<UpstreamResponse> {
    const deadline = deadlineAfter(this.timeoutMs)
    try {
      return await this.request('POST', path, { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams(form).toString(), deadline.signal)
    } finally {
      deadline.clear()
    }
  }

  private async request (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<UpstreamResponse> {
    try {
      const response = await this.dispatcher.request({
        origin: this.origin,
        path: this.pathPrefix + path,
        method,
        headers: { accept: 'application/json', ...headers },
        body,
        signal
      })
      const text = await readCapped(response.body, this.provider)
      return { status: response.statusCode, headers: response.headers, json: parseJson(text) }
    } catch (error) {
      if (error instanceof UpstreamInvalidResponseError) throw error
      if (signal.aborted || TIMEOUT_CODES.has((error as { code?: string }).code ?? '')) {
        throw new UpstreamTimeoutError(this.provider, this.timeoutMs)
      }
      throw new UpstreamError(this.provider, `${this.provider} could not be reached (${(error as { code?: string }).code ?? 'network error'}).`, { cause: error })
    }
  }

  async close (): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close()
  }
}

async function readCapped (body: Dispatcher.ResponseData['body'], provider: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      throw new UpstreamInvalidResponseError(provider, `${provider} sent a body larger than ${MAX_BODY_BYTES} bytes.`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseJson (text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** `Retry-After` as seconds (delta or HTTP date); undefined when absent or unreadable. */
export function retryAfterSeconds (header: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(header) ? header[0] : header
  if (raw === undefined || raw.trim() === '') return undefined
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim())
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

/** Upstream error text is passed on to callers: keep it short and free of anything token-like. */
export function safeDetail (text: unknown, fallback: string): string {
  if (typeof text !== 'string' || text.trim() === '') return fallback
  return text.replace(/(bearer\s+)\S+/gi, '$1[redacted]').replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[redacted]').slice(0, 500)
}
