// Live updates for one transaction: Server-Sent Events (`update` events carrying the TxInfo), falling back
// to polling GET /tx/{hash} every 4 s when the stream fails. Polling pauses while the page is hidden.

import type { TxInfo } from './types'

export const POLL_INTERVAL_MS = 4000

export type LiveMode = 'connecting' | 'live' | 'polling' | 'stopped'

interface EventSourceLike {
  readyState: number
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void
  close(): void
  onerror: ((ev: Event) => void) | null
  onopen: ((ev: Event) => void) | null
}

export interface LiveDeps {
  createEventSource?: ((url: string) => EventSourceLike) | null
  fetchTx: (hash: string) => Promise<TxInfo>
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (id: unknown) => void
  isHidden?: () => boolean
  /** nothing can change any more (executed or failed): no need to keep watching once the stream ends */
  isDone?: (tx: TxInfo) => boolean
}

export interface LiveCallbacks {
  onUpdate: (tx: TxInfo) => void
  onMode?: (mode: LiveMode) => void
  onError?: (error: unknown) => void
}

export class LiveTx {
  private es: EventSourceLike | null = null
  private timer: unknown = null
  private stopped = false
  private last: TxInfo | null = null
  mode: LiveMode = 'connecting'

  constructor(
    private readonly hash: string,
    private readonly url: string,
    private readonly deps: LiveDeps,
    private readonly cb: LiveCallbacks,
  ) {}

  start(): void {
    const create = this.deps.createEventSource
    if (!create) {
      this.startPolling()
      return
    }
    try {
      this.es = create(this.url)
    } catch {
      this.startPolling()
      return
    }
    this.setMode('connecting')
    this.es.addEventListener('update', (ev) => {
      let tx: TxInfo
      try {
        tx = JSON.parse(ev.data) as TxInfo
      } catch (e) {
        this.cb.onError?.(e)
        return
      }
      this.setMode('live')
      this.last = tx
      this.cb.onUpdate(tx)
    })
    this.es.onerror = () => {
      // Any stream failure (refused, wrong content type, dropped connection) switches to polling;
      // polling is always correct, only slower.
      if (this.stopped) return
      this.es?.close()
      this.es = null
      if (this.last && this.deps.isDone?.(this.last)) this.stop()
      else this.startPolling()
    }
  }

  /** Called on visibilitychange: poll at once when the page becomes visible again. */
  wake(): void {
    if (this.mode === 'polling' && !this.stopped) {
      this.clear()
      void this.poll()
    }
  }

  stop(): void {
    this.stopped = true
    this.es?.close()
    this.es = null
    this.clear()
    this.setMode('stopped')
  }

  private setMode(mode: LiveMode): void {
    if (this.mode === mode) return
    this.mode = mode
    this.cb.onMode?.(mode)
  }

  private clear(): void {
    if (this.timer !== null) (this.deps.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>)
    this.timer = null
  }

  private startPolling(): void {
    if (this.stopped) return
    this.setMode('polling')
    this.schedule()
  }

  private schedule(): void {
    if (this.stopped) return
    this.clear()
    const set = this.deps.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms))
    this.timer = set(() => void this.poll(), POLL_INTERVAL_MS)
  }

  private async poll(): Promise<void> {
    this.timer = null
    if (this.stopped) return
    if (this.deps.isHidden?.()) {
      this.schedule()
      return
    }
    try {
      const tx = await this.deps.fetchTx(this.hash)
      if (this.stopped) return
      this.last = tx
      this.cb.onUpdate(tx)
      if (this.deps.isDone?.(tx)) {
        this.stop()
        return
      }
    } catch (e) {
      this.cb.onError?.(e)
    }
    this.schedule()
  }
}
