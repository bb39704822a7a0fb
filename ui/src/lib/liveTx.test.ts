import { describe, expect, it } from 'vitest'
import { LiveTx, POLL_INTERVAL_MS, type LiveMode } from './liveTx'
import type { TxInfo } from './types'

class FakeES {
  readyState = 0
  onerror: ((ev: Event) => void) | null = null
  onopen: ((ev: Event) => void) | null = null
  listeners: Record<string, ((ev: MessageEvent) => void)[]> = {}
  closed = false
  addEventListener(type: string, l: (ev: MessageEvent) => void) {
    ;(this.listeners[type] ??= []).push(l)
  }
  close() {
    this.closed = true
  }
  emit(type: string, data: string) {
    for (const l of this.listeners[type] ?? []) l({ data } as MessageEvent)
  }
}

function harness(withSse = true, done = false) {
  const timers: { fn: () => void; ms: number }[] = []
  const updates: TxInfo[] = []
  const modes: LiveMode[] = []
  let es: FakeES | null = null
  let fetches = 0
  const live = new LiveTx('abc', '/tx/abc/events', {
    createEventSource: withSse ? () => (es = new FakeES()) : null,
    fetchTx: async () => {
      fetches++
      return { hash: 'abc', status: 'pending' } as TxInfo
    },
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
    isDone: () => done,
  }, { onUpdate: (t) => updates.push(t), onMode: (m) => modes.push(m) })
  return { live, timers, updates, modes, es: () => es!, fetches: () => fetches }
}

describe('LiveTx', () => {
  it('delivers SSE update events', () => {
    const h = harness()
    h.live.start()
    h.es().emit('update', JSON.stringify({ hash: 'abc', status: 'ready' }))
    expect(h.updates).toEqual([{ hash: 'abc', status: 'ready' }])
    expect(h.modes).toEqual(['live'])
    expect(h.timers).toHaveLength(0)
  })
  it('falls back to polling every 4 s when the stream fails', async () => {
    const h = harness()
    h.live.start()
    h.es().onerror?.(new Event('error'))
    expect(h.es().closed).toBe(true)
    expect(h.modes).toEqual(['polling'])
    expect(h.timers[0].ms).toBe(POLL_INTERVAL_MS)
    h.timers[0].fn()
    await new Promise((r) => setTimeout(r, 0))
    expect(h.fetches()).toBe(1)
    expect(h.updates).toHaveLength(1)
    expect(h.timers).toHaveLength(2)
  })
  it('polls when EventSource is unavailable and stops cleanly', async () => {
    const h = harness(false)
    h.live.start()
    expect(h.modes).toEqual(['polling'])
    h.live.stop()
    h.timers[0].fn()
    await new Promise((r) => setTimeout(r, 0))
    expect(h.fetches()).toBe(0)
    expect(h.modes.at(-1)).toBe('stopped')
  })
  it('ignores malformed event data', () => {
    const h = harness()
    h.live.start()
    h.es().emit('update', 'not json')
    expect(h.updates).toHaveLength(0)
  })
  it('stops instead of polling when the transaction can no longer change', async () => {
    const h = harness(true, true)
    h.live.start()
    h.es().emit('update', JSON.stringify({ hash: 'abc', status: 'failed' }))
    h.es().onerror?.(new Event('error'))
    expect(h.modes).toEqual(['live', 'stopped'])
    expect(h.timers).toHaveLength(0)
  })
})
