import { describe, expect, it } from 'vitest'
import { base32Decode, base32Encode, crc16xmodem, decodeStrKey, encodeStrKey, isAccountId, shortKey } from './strkey'

// Known-valid keys (from the Stellar documentation and SEP-23 test vectors).
const G = 'GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ'
const S = 'SCZANGBA5YHTNYVVV4C3U252E2B6P6F5T3U6MM63WBSBZATAQI3EBTQ4'
const M = 'MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLK'

describe('crc16xmodem', () => {
  it('matches the standard check value', () => {
    expect(crc16xmodem(new TextEncoder().encode('123456789'))).toBe(0x31c3)
  })
})

describe('base32', () => {
  it('round-trips', () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 251, 255, 17])
    expect(base32Decode(base32Encode(bytes))).toEqual(bytes)
  })
  it('rejects characters outside the alphabet', () => {
    expect(base32Decode('ABC1')).toBeNull()
    expect(base32Decode('abcd')).toBeNull()
  })
})

describe('StrKey', () => {
  it('accepts valid account ids', () => {
    expect(isAccountId(G)).toBe(true)
  })
  it('rejects a wrong checksum', () => {
    const bad = G.slice(0, 55) + (G[55] === 'A' ? 'B' : 'A')
    expect(isAccountId(bad)).toBe(false)
  })
  it('rejects other kinds, bad length, lowercase and junk', () => {
    expect(isAccountId(S)).toBe(false)
    expect(isAccountId(M)).toBe(false)
    expect(isAccountId(G.slice(0, 55))).toBe(false)
    expect(isAccountId(G.toLowerCase())).toBe(false)
    expect(isAccountId('')).toBe(false)
    expect(isAccountId('G' + 'A'.repeat(55))).toBe(false)
  })
  it('decodes seeds and muxed accounts', () => {
    expect(decodeStrKey('ed25519SecretSeed', S)?.length).toBe(32)
    expect(decodeStrKey('med25519PublicKey', M)?.length).toBe(40)
  })
  it('encodes what it decodes', () => {
    const payload = decodeStrKey('ed25519PublicKey', G)!
    expect(encodeStrKey('ed25519PublicKey', payload)).toBe(G)
    expect(encodeStrKey('ed25519PublicKey', new Uint8Array(32))).toBe('GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF')
  })
  it('shortens keys for display', () => {
    expect(shortKey(G)).toBe('GA7Q…VSGZ')
  })
})
