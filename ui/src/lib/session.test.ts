import { describe, expect, it } from 'vitest'
import { readToken, shortKey } from './session'

function jwt(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.sig`
}

describe('session', () => {
  it('reads the account and expiry of a token', () => {
    const account = 'GCKFBEIYV2U22IO2BJ4KVJOIP7XPWQGQFKKWXR6DOSJBV7STMAQSMTGG'
    expect(readToken(jwt({ sub: account, exp: 2000000000, iat: 1 }))).toEqual({ account, expires: 2000000000 })
  })

  it('refuses tokens without the claims it needs', () => {
    expect(readToken('garbage')).toBeNull()
    expect(readToken(jwt({ exp: 5 }))).toBeNull()
    expect(readToken('a.!!!.c')).toBeNull()
  })

  it('shortens keys for display', () => {
    expect(shortKey('GCKFBEIYV2U22IO2BJ4KVJOIP7XPWQGQFKKWXR6DOSJBV7STMAQSMTGG')).toBe('GCKF…MTGG')
  })
})
