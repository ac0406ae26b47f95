/**
 * The gate in front of an upstream's connections (Envoy's max_requests and
 * max_pending_requests): at most `concurrency` calls in flight, at most
 * `maxPending` waiting. Overflow is refused at once; a call that could not
 * start before its deadline (or, by the recent pace, would not) fails fast
 * instead of waiting out the timeout in a queue.
 */
import { UpstreamBusyError } from '../errors.js'

export interface CallQueueOptions {
  provider: string
  concurrency: number
  maxPending: number
}

interface Waiter { start: () => void }

export class CallQueue {
  private readonly options: CallQueueOptions
  private running = 0
  private readonly waiting: Waiter[] = []
  /** Recent call duration (exponentially weighted), to tell whether a queued call could start in time. */
  private averageMs = 0

  constructor (options: CallQueueOptions) {
    this.options = options
  }

  /** Waits for a free connection; `deadline` is the call's own. Returns the release to call when the call ends. */
  async acquire (deadline: AbortSignal, remainingMs: number): Promise<() => void> {
    const { concurrency, maxPending, provider } = this.options
    if (this.running < concurrency && this.waiting.length === 0) return this.started()
    if (this.waiting.length >= maxPending) {
      throw new UpstreamBusyError(provider, 1, `already has ${maxPending} calls waiting for a connection`)
    }
    const rounds = Math.floor(this.waiting.length / concurrency) + 1
    if (this.averageMs > 0 && rounds * this.averageMs >= remainingMs) {
      throw new UpstreamBusyError(provider, Math.max(1, Math.ceil(rounds * this.averageMs / 1000)), 'could not start this call before its deadline')
    }
    if (deadline.aborted) throw new UpstreamBusyError(provider, 1, 'could not start this call before its deadline')
    return await new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => { deadline.removeEventListener('abort', onAbort); resolve(this.started()) }
      }
      const onAbort = (): void => {
        const index = this.waiting.indexOf(waiter)
        if (index >= 0) this.waiting.splice(index, 1)
        reject(new UpstreamBusyError(provider, 1, 'could not start this call before its deadline'))
      }
      deadline.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(waiter)
    })
  }

  private started (): () => void {
    this.running++
    const began = performance.now()
    let released = false
    return () => {
      if (released) return
      released = true
      this.running--
      const ms = performance.now() - began
      this.averageMs = this.averageMs === 0 ? ms : this.averageMs * 0.8 + ms * 0.2
      this.waiting.shift()?.start()
    }
  }
}
