import { describe, expect, it } from 'vitest'
import { describeMemo, describePreconditions } from './preconditions'

describe('describePreconditions', () => {
  it('labels time bounds, ledger bounds and sequence conditions, skipping empty ones', () => {
    const rows = describePreconditions({
      timeBounds: { minTime: 0, maxTime: 1893456000 },
      ledgerBounds: { minLedger: 5, maxLedger: 0 },
      minSeqNum: null,
      minSeqAge: 300,
      minSeqLedgerGap: 2,
      extraSigners: [],
    })
    expect(rows.map((r) => r.label)).toEqual(['Not valid after', 'Ledger range', 'Minimum sequence age', 'Minimum ledger gap'])
    expect(rows[0].value).toContain('1893456000')
    expect(rows[1].value).toBe('5 – any')
    expect(rows[2].value).toBe('5 minutes')
  })
  it('reads the server\'s spelling of sequence conditions', () => {
    const rows = describePreconditions({ minSequence: '12', minSequenceAge: 7200, minSequenceLedgerGap: 3, extraSigners: ['GABC'] })
    expect(rows).toEqual([
      { label: 'Minimum source sequence', value: '12' },
      { label: 'Minimum sequence age', value: '2.0 hours' },
      { label: 'Minimum ledger gap', value: '3 ledgers' },
      { label: 'Extra signers required', value: 'GABC' },
    ])
  })
  it('shows unknown keys as they are', () => {
    expect(describePreconditions({ somethingNew: ['a', 'b'] })).toEqual([{ label: 'Something New', value: 'a, b' }])
    expect(describePreconditions(null)).toEqual([])
  })
})

describe('describeMemo', () => {
  it('handles strings, typed memos and none', () => {
    expect(describeMemo('hello')).toBe('hello')
    expect(describeMemo({ type: 'text', value: 'hi' })).toBe('hi (text)')
    expect(describeMemo({ type: 'MEMO_ID', value: '42' })).toBe('42 (id)')
    expect(describeMemo({ type: 'none' })).toBeNull()
    expect(describeMemo(null)).toBeNull()
  })
})
