import { describe, expect, it } from 'vitest'
import { normalizeDeliveries } from './deliveries'

describe('normalizeDeliveries', () => {
  it('reads the flat attempt list', () => {
    expect(normalizeDeliveries([{ id: 'w1', attempt: 1, at: 10, status: 200, error: null, durationMs: 5 }])).toEqual([
      { id: 'w1', attempt: 1, at: 10, status: 200, error: null, durationMs: 5 },
    ])
  })
  it('flattens per-callback attempt logs in time order', () => {
    const items = [
      {
        id: 'w1',
        url: 'https://example.com',
        status: 'delivered',
        attempts: 2,
        lastError: null,
        log: [
          { attempt: 1, at: 20.5, status: null, error: 'connection refused', durationMs: 1.2 },
          { attempt: 2, at: 30, status: 204, error: null, durationMs: 3 },
        ],
      },
      { id: 'w0', url: 'https://example.com', status: 'pending', attempts: 0, lastError: null, log: [] },
    ]
    const out = normalizeDeliveries(items)
    expect(out.map((d) => [d.id, d.attempt, d.status])).toEqual([
      ['w1', 1, null],
      ['w1', 2, 204],
    ])
    expect(out[0].error).toBe('connection refused')
  })
  it('ignores junk', () => {
    expect(normalizeDeliveries(null)).toEqual([])
    expect(normalizeDeliveries([null, 5, { id: 1 }])).toEqual([])
  })
})
