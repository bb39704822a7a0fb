import { describe, expect, it } from 'vitest'
import { checkEnvelope } from './envelope'
import { extractHash, parseExpires, splitSigners, validateCallbackUrl, validateUpload, type UploadForm } from './validation'

const G1 = 'GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ'
const G2 = 'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF'
// A v1 envelope header (type 2) followed by zero padding: enough for the light envelope check.
const XDR = btoa(String.fromCharCode(0, 0, 0, 2, ...new Array(96).fill(0)))
const NOW = 1_800_000_000

function form(over: Partial<UploadForm> = {}): UploadForm {
  return { network: 'testnet', xdr: XDR, submit: false, callbackUrl: '', expires: '', desiredSigners: '', ...over }
}

describe('checkEnvelope', () => {
  it('accepts base64 envelopes and strips whitespace', () => {
    const r = checkEnvelope(XDR.slice(0, 20) + '\n  ' + XDR.slice(20))
    expect(r).toEqual({ ok: true, xdr: XDR, kind: 'transaction' })
  })
  it('rejects empty, non-base64, wrong type and truncated input', () => {
    expect(checkEnvelope('').ok).toBe(false)
    expect(checkEnvelope('not base64!').ok).toBe(false)
    expect(checkEnvelope('AAAA=').ok).toBe(false)
    expect(checkEnvelope(btoa(String.fromCharCode(0, 0, 0, 9, ...new Array(96).fill(0)))).ok).toBe(false)
    expect(checkEnvelope(btoa(String.fromCharCode(0, 0, 0, 2, 0, 0, 0, 0))).ok).toBe(false)
  })
})

describe('validateCallbackUrl', () => {
  it('accepts http and https', () => {
    expect(validateCallbackUrl('https://example.com/hook')).toBeNull()
    expect(validateCallbackUrl('http://127.0.0.1:8080/x?y=1')).toBeNull()
  })
  it('rejects other schemes and junk', () => {
    expect(validateCallbackUrl('ftp://example.com')).toMatch(/http/)
    expect(validateCallbackUrl('example.com/hook')).toMatch(/full URL/)
    expect(validateCallbackUrl('javascript:alert(1)')).toMatch(/http/)
  })
})

describe('parseExpires', () => {
  it('accepts a future UNIX time up to 2^31-1', () => {
    expect(parseExpires(String(NOW + 60), NOW)).toBe(NOW + 60)
    expect(parseExpires('2147483647', NOW)).toBe(2147483647)
  })
  it('rejects past, too large and non-integer values', () => {
    expect(parseExpires(String(NOW), NOW)).toMatch(/future/)
    expect(parseExpires('2147483648', NOW)).toMatch(/at most/)
    expect(parseExpires('1.5', NOW)).toMatch(/whole number/)
    expect(parseExpires('-5', NOW)).toMatch(/whole number/)
    expect(parseExpires('tomorrow', NOW)).toMatch(/whole number/)
  })
})

describe('desired signers', () => {
  it('splits on lines, commas and spaces and drops duplicates', () => {
    expect(splitSigners(`${G1}\n${G2}, ${G1}  `)).toEqual([G1, G2])
  })
})

describe('validateUpload', () => {
  it('builds the request with typed values', () => {
    const r = validateUpload(
      form({ submit: true, callbackUrl: ' https://example.com/cb ', expires: String(NOW + 10), desiredSigners: `${G1}\n${G2}` }),
      ['testnet'],
      NOW,
    )
    expect(r.errors).toEqual({})
    expect(r.request).toEqual({
      network: 'testnet',
      xdr: XDR,
      submit: true,
      callbackUrl: 'https://example.com/cb',
      expires: NOW + 10,
      desiredSigners: [G1, G2],
    })
  })
  it('leaves optional fields out', () => {
    expect(validateUpload(form(), ['testnet'], NOW).request).toEqual({ network: 'testnet', xdr: XDR })
  })
  it('reports every field error at once', () => {
    const r = validateUpload(
      { network: '', xdr: '', submit: false, callbackUrl: 'nope', expires: '12', desiredSigners: `${G1} GBAD` },
      ['testnet'],
      NOW,
    )
    expect(r.request).toBeNull()
    expect(Object.keys(r.errors).sort()).toEqual(['callbackUrl', 'desiredSigners', 'expires', 'network', 'xdr'])
    expect(r.errors.desiredSigners).toContain('GBAD')
  })
  it('rejects an unknown network', () => {
    expect(validateUpload(form({ network: 'mars' }), ['testnet'], NOW).errors.network).toBeTruthy()
  })
})

describe('extractHash', () => {
  const h = 'a'.repeat(63) + 'b'
  it('finds a hash in a link, lowercased', () => {
    expect(extractHash(`https://refractor.example/tx/${h.toUpperCase()}`)).toBe(h)
    expect(extractHash(` ${h} `)).toBe(h)
  })
  it('rejects anything else', () => {
    expect(extractHash('abc')).toBeNull()
    expect(extractHash(h + 'c')).toBeNull()
  })
})
