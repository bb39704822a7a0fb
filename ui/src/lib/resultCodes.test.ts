import { describe, expect, it } from 'vitest'
import { codesInText, explainOpCode, explainResult, explainTxCode, normalizeCode } from './resultCodes'

describe('normalizeCode', () => {
  it('maps XDR spellings to Horizon spellings', () => {
    expect(normalizeCode('txBAD_SEQ')).toBe('tx_bad_seq')
    expect(normalizeCode('txFEE_BUMP_INNER_FAILED')).toBe('tx_fee_bump_inner_failed')
    expect(normalizeCode('PAYMENT_UNDERFUNDED')).toBe('op_underfunded')
    expect(normalizeCode('PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN')).toBe('op_under_destmin')
    expect(normalizeCode('CHANGE_TRUST_LOW_RESERVE')).toBe('op_low_reserve')
    expect(normalizeCode('opBAD_AUTH')).toBe('op_bad_auth')
    expect(normalizeCode('tx_failed')).toBe('tx_failed')
    expect(normalizeCode('txBadSeq')).toBe('tx_bad_seq')
    expect(normalizeCode('txFailed')).toBe('tx_failed')
    expect(normalizeCode('opUnderfunded')).toBe('op_underfunded')
  })
})

describe('explanations', () => {
  it('explains transaction codes in both spellings', () => {
    expect(explainTxCode('tx_bad_seq')).toMatch(/sequence number/)
    expect(explainTxCode('txBAD_AUTH')).toMatch(/signatures/)
    expect(explainTxCode('tx_whatever')).toBeNull()
    expect(explainTxCode(null)).toBeNull()
  })
  it('explains operation codes in both spellings', () => {
    expect(explainOpCode('op_underfunded')).toMatch(/enough/)
    expect(explainOpCode('PAYMENT_NO_DESTINATION')).toMatch(/does not exist/)
    expect(explainOpCode('CREATE_ACCOUNT_ALREADY_EXIST')).toMatch(/already exists/)
    expect(explainOpCode('PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN')).toMatch(/less than the minimum/)
    expect(explainOpCode('op_brand_new')).toBeNull()
    expect(explainOpCode('CREATE_ACCOUNT_ALREADY_EXISTS')).toMatch(/already exists/)
  })
  it('lists failed operations with their index, skipping successes', () => {
    const r = explainResult('tx_failed', ['op_success', 'op_underfunded', null])
    expect(r.tx?.text).toMatch(/none of them were applied/)
    expect(r.ops).toEqual([{ code: 'op_underfunded', index: 1, text: expect.stringMatching(/enough/) }])
  })
  it('marks unknown codes instead of hiding them', () => {
    expect(explainResult('tx_new_thing', ['op_new_thing']).ops[0].text).toBe('Unrecognised result code.')
  })
  it('finds codes inside error text', () => {
    const found = codesInText('Submission failed: tx_failed [op_no_trust]')
    expect(found.map((f) => f.code)).toEqual(['tx_failed', 'op_no_trust'])
    expect(codesInText('transaction failed: txBAD_SEQ')[0].text).toMatch(/sequence/)
    expect(codesInText('Tx error: txBadSeq')[0].text).toMatch(/sequence/)
    expect(codesInText('timeout')).toEqual([])
  })
})
