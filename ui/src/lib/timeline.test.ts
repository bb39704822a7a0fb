import { describe, expect, it } from 'vitest'
import { canSign, canSubmitManually, statusLabel } from './status'
import { buildTimeline } from './timeline'
import type { TxInfo } from './types'

const base: TxInfo = {
  hash: 'h', network: 'testnet', xdr: 'x', signatures: [], status: 'pending', submit: true, callback: false,
  desiredSigners: null, minTime: 0, maxTime: null, submitted: null, error: null, createdAt: 100, updatedAt: 100,
  readyAt: null, feeBump: null, result: null,
}

describe('buildTimeline', () => {
  it('orders created, signatures, ready, submitted and deliveries by time', () => {
    const tx: TxInfo = {
      ...base,
      status: 'processed',
      signatures: [
        { key: 'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF', signature: 's', addedAt: 110 },
        { key: 'GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ', signature: 's', addedAt: 120 },
      ],
      readyAt: 120,
      submitted: 125,
      result: { ledger: 42, successful: true },
    }
    const events = buildTimeline(tx, [{ id: 1, attempt: 1, at: 126, status: 200, error: null, durationMs: 12 }])
    expect(events.map((e) => e.kind)).toEqual(['created', 'signature', 'signature', 'ready', 'submitted', 'delivery'])
    expect(events[1].title).toBe('Signed by GAAAAA…AAAWHF')
    expect(events[4].detail).toBe('in ledger 42')
    expect(events[5]).toMatchObject({ title: 'Callback delivered', tone: 'ok', detail: 'attempt 1 · HTTP 200 · 12 ms' })
  })
  it('shows failures and failed deliveries', () => {
    const tx: TxInfo = { ...base, status: 'failed', error: 'tx_bad_seq', updatedAt: 200 }
    const events = buildTimeline(tx, [{ id: 2, attempt: 2, at: 150, status: null, error: 'connection refused' }])
    expect(events.map((e) => e.kind)).toEqual(['created', 'delivery', 'failed'])
    expect(events[1]).toMatchObject({ tone: 'bad', detail: 'attempt 2 · connection refused' })
  })
  it('adds the expiry while still collecting', () => {
    const events = buildTimeline({ ...base, maxTime: 500 }, [], 300)
    expect(events.at(-1)).toMatchObject({ kind: 'expires', title: 'Expires', tone: 'future' })
    expect(buildTimeline({ ...base, maxTime: 200 }, [], 300).at(-1)).toMatchObject({ title: 'Expired', tone: 'bad' })
  })
})

describe('status helpers', () => {
  it('labels and gates actions', () => {
    expect(statusLabel({ status: 'processed', submitted: 5, submit: true })).toBe('Executed on the network')
    expect(statusLabel({ status: 'ready', submitted: null, submit: false })).toBe('Fully signed, not submitted')
    expect(statusLabel({ status: 'processed', submitted: null, submit: false })).toBe('Fully signed, not submitted')
    expect(canSign({ status: 'pending', maxTime: null })).toBe(true)
    expect(canSign({ status: 'pending', maxTime: 10 }, 20)).toBe(false)
    expect(canSign({ status: 'ready', maxTime: null })).toBe(false)
    expect(canSubmitManually({ status: 'ready', submit: false, submitted: null })).toBe(true)
    expect(canSubmitManually({ status: 'ready', submit: true, submitted: null })).toBe(false)
    expect(canSubmitManually({ status: 'processed', submit: false, submitted: null })).toBe(true)
    expect(canSubmitManually({ status: 'processed', submit: false, submitted: 5 })).toBe(false)
  })
})
