import { describe, expect, it } from 'vitest'
import { accountView, summarizeProgress } from './progress'
import type { AccountProgress } from './types'

const acc = (over: Partial<AccountProgress> = {}): AccountProgress => ({
  account: 'GACC',
  scope: 'transaction',
  threshold: 3,
  weight: 1,
  satisfied: false,
  signers: [
    { key: 'GA', weight: 1, signed: true },
    { key: 'GB', weight: 2, signed: false, desired: true },
    { key: 'GC', weight: 1, signed: false },
    { key: 'GZ', weight: 0, signed: false },
  ],
  ...over,
})

describe('accountView', () => {
  it('computes remaining weight, percent and reachability', () => {
    const v = accountView(acc())
    expect(v.remaining).toBe(2)
    expect(v.percent).toBe(33)
    expect(v.possible).toBe(4)
    expect(v.reachable).toBe(true)
    expect(v.signed.map((s) => s.key)).toEqual(['GA'])
    // desired first, zero-weight signers left out
    expect(v.unsigned.map((s) => s.key)).toEqual(['GB', 'GC'])
  })
  it('caps at 100 % and treats zero thresholds as done', () => {
    expect(accountView(acc({ weight: 5, satisfied: true })).percent).toBe(100)
    expect(accountView(acc({ threshold: 0, weight: 0, satisfied: true })).remaining).toBe(0)
  })
  it('flags accounts that can never reach the threshold', () => {
    expect(accountView(acc({ threshold: 10 })).reachable).toBe(false)
  })
})

describe('summarizeProgress', () => {
  it('counts satisfied accounts and pending desired signers', () => {
    const s = summarizeProgress(
      {
        ready: false,
        accounts: [acc(), acc({ account: 'GFEE', scope: 'feeBump', threshold: 1, weight: 1, satisfied: true, signers: [{ key: 'GFEE', weight: 1, signed: true }] })],
        extraSigners: [{ key: 'GX', signed: false }],
        warnings: ['w'],
      },
      ['GD'],
    )
    expect(s.satisfiedCount).toBe(1)
    expect(s.desiredPending.sort()).toEqual(['GB', 'GD'])
    expect(s.pendingSigners.sort()).toEqual(['GB', 'GC', 'GX'])
    expect(s.warnings).toEqual(['w'])
  })
  it('handles a missing progress object', () => {
    expect(summarizeProgress(undefined)).toMatchObject({ ready: false, accounts: [], satisfiedCount: 0 })
  })
})
