import { describe, expect, it } from 'vitest'
import { sourceQueue, waitingText } from './sourceQueue'
import type { TxInfo } from './types'

const SRC = 'GSOURCE'

function tx(hash: string, sequence: string, over: Partial<TxInfo> = {}): TxInfo {
  return {
    hash,
    network: 'testnet',
    xdr: '',
    signatures: [],
    status: 'ready',
    submit: true,
    callback: false,
    desiredSigners: null,
    minTime: 0,
    maxTime: null,
    submitted: null,
    error: null,
    createdAt: 0,
    updatedAt: 0,
    readyAt: null,
    feeBump: null,
    result: null,
    summary: { source: SRC, sequence },
    ...over,
  }
}

describe('sourceQueue', () => {
  it('orders by sequence, labels next and queued, and leaves other sources and final records out', () => {
    const rows = sourceQueue(SRC, [
      tx('c', '103'),
      tx('a', '101', { status: 'pending' }),
      tx('b', '102'),
      tx('x', '100', { status: 'processed' }),
      tx('y', '101', { summary: { source: 'GOTHER', sequence: '101' } }),
    ])
    expect(rows.map((r) => [r.sequence, r.items.map((t) => t.hash), r.label])).toEqual([
      [101n, ['a'], 'Next'],
      [102n, ['b'], 'Queued #2'],
      [103n, ['c'], 'Queued #3'],
    ])
  })

  it('puts records with the same sequence side by side as a conflict', () => {
    const rows = sourceQueue(SRC, [tx('a', '7', { status: 'processing' }), tx('b', '7'), tx('c', '8')])
    expect(rows[0]).toMatchObject({ label: 'Submitting', conflict: true })
    expect(rows[0].items.map((t) => t.hash)).toEqual(['a', 'b'])
    expect(rows[1].conflict).toBe(false)
  })

  it('reports gaps, from the server or between the numbers listed', () => {
    const blocked = tx('a', '9007199254740995', {
      waitingFor: { kind: 'blocked', missing: [{ from: '9007199254740993', to: '9007199254740994' }], missingCount: 2 },
    })
    const rows = sourceQueue(SRC, [blocked, tx('b', '9007199254740998')])
    expect(rows.map((r) => r.label)).toEqual([
      'Blocked: sequence 9007199254740993–9007199254740994 missing',
      'Blocked: sequence 9007199254740996–9007199254740997 missing',
    ])
    expect(sourceQueue(SRC, [tx('a', '5'), tx('b', '7'), tx('c', '8')]).map((r) => r.label)).toEqual([
      'Next',
      'Blocked: sequence 6 missing',
      'Queued #3 (after a gap)',
    ])
  })
})

describe('waitingText', () => {
  it('says what a record waits for', () => {
    expect(waitingText(tx('a', '1', { waitingFor: { kind: 'ledger', ledger: 77 } }))).toBe('Valid from ledger 77')
    expect(waitingText(tx('a', '1', { waitingFor: { kind: 'predecessor', hash: 'h' } }))).toMatch(/before it/)
    expect(waitingText(tx('a', '1'))).toBeNull()
  })
})
