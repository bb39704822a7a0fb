import { afterEach, describe, expect, it } from 'vitest'
import { ApiError, api, errorField, errorFromResponse, queryString, setFetch } from './api'
import { getSession, setSession } from './session'

function respond(status: number, body: unknown, headers: Record<string, string> = {}) {
  const calls: { url: string; init?: RequestInit }[] = []
  setFetch(async (url, init) => {
    calls.push({ url, init })
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    return new Response(text, { status, headers })
  })
  return calls
}

afterEach(() => setFetch((input, init) => fetch(input, init)))

describe('errorFromResponse', () => {
  it('keeps the server message and field', () => {
    const e = errorFromResponse(400, 'Bad Request', { error: 'Invalid callback URL.', status: 400, field: 'callbackUrl' })
    expect(e).toBeInstanceOf(ApiError)
    expect(e.message).toBe('Invalid callback URL.')
    expect(e.status).toBe(400)
    expect(e.field).toBe('callbackUrl')
  })
  it('falls back to a plain explanation of the status', () => {
    expect(errorFromResponse(502, '', 'oops').message).toMatch(/bad gateway/)
    expect(errorFromResponse(418, "I'm a teapot", null).message).toBe("I'm a teapot")
    expect(errorFromResponse(599, '', null).message).toBe('Request failed with status 599.')
  })
  it('mentions Retry-After for 429', () => {
    expect(errorFromResponse(429, '', { error: 'Slow down.', status: 429 }, '3').message).toBe('Slow down. (retry after 3 s)')
  })
})

describe('apiRequest', () => {
  it('posts JSON and returns the parsed body', async () => {
    const calls = respond(200, { hash: 'ab', changes: { accepted: [], rejected: [] } })
    const r = await api.postTx({ network: 'testnet', xdr: 'AAAA' })
    expect(r.hash).toBe('ab')
    expect(calls[0].url).toBe('/tx')
    expect(calls[0].init?.method).toBe('POST')
    expect(JSON.parse(String(calls[0].init?.body))).toEqual({ network: 'testnet', xdr: 'AAAA' })
    expect((calls[0].init?.headers as Record<string, string>)['Accept']).toBe('application/json')
  })
  it('maps error bodies to ApiError with field', async () => {
    respond(400, { error: 'expires must be in the future', status: 400, field: 'expires' })
    await expect(api.postTx({ network: 'testnet', xdr: 'AAAA' })).rejects.toMatchObject({ status: 400, field: 'expires' })
  })
  it('maps 404 on a transaction', async () => {
    respond(404, { error: 'Transaction abc not found.', status: 404 })
    await expect(api.getTx('abc')).rejects.toMatchObject({ status: 404, message: 'Transaction abc not found.', field: null })
  })
  it('maps network failures to status 0', async () => {
    setFetch(async () => {
      throw new TypeError('Failed to fetch')
    })
    await expect(api.networks()).rejects.toMatchObject({ status: 0 })
  })
  it('rejects non-JSON success bodies', async () => {
    respond(200, '<html></html>')
    await expect(api.getTx('abc')).rejects.toBeInstanceOf(ApiError)
  })
  it('builds list queries without empty values', async () => {
    const calls = respond(200, { items: [], next: null })
    await api.listTx({ awaiting: 'GABC', status: 'pending', cursor: null })
    expect(calls[0].url).toBe('/tx?awaiting=GABC&status=pending')
    expect(queryString({})).toBe('')
  })
})

describe('errorField', () => {
  const FIELDS = ['network', 'xdr', 'callbackUrl', 'expires', 'desiredSigners']
  it('prefers the server field', () => {
    expect(errorField(new ApiError('whatever', 400, 'expires'), FIELDS)).toBe('expires')
  })
  it('reads a quoted parameter or a keyword from the message', () => {
    expect(errorField(new ApiError('Invalid transaction XDR', 400), FIELDS)).toBe('xdr')
    expect(errorField(new ApiError('Invalid "callbackUrl" parameter.', 400), FIELDS)).toBe('callbackUrl')
    expect(errorField(new ApiError('Unidentified network: mars', 400), FIELDS)).toBe('network')
  })
  it('leaves other errors for the whole form', () => {
    expect(errorField(new ApiError('Too many requests.', 429), FIELDS)).toBeNull()
    expect(errorField(new ApiError('Source account does not exist', 400), FIELDS)).toBeNull()
    expect(errorField(new ApiError('Unknown', 400, 'other'), FIELDS)).toBeNull()
  })
})

describe('signed-in requests', () => {
  const session = { account: 'GCKFBEIYV2U22IO2BJ4KVJOIP7XPWQGQFKKWXR6DOSJBV7STMAQSMTGG', token: 'a.b.c', expires: 4000000000 }
  afterEach(() => setSession(null))

  it('carry the token', async () => {
    setSession(session)
    const calls = respond(200, { items: [] })
    await api.subscriptions()
    expect((calls[0].init?.headers as Record<string, string>).Authorization).toBe('Bearer a.b.c')
  })
  it('sign out when the server says the token is no longer valid', async () => {
    setSession(session)
    respond(401, { error: 'The token has expired', status: 401, reason: 'invalid_token' })
    await expect(api.subscriptions()).rejects.toBeInstanceOf(ApiError)
    expect(getSession()).toBeNull()
  })
  it('stay signed in after a 401 of another kind (an operator-only route)', async () => {
    setSession(session)
    respond(401, { error: 'Missing or invalid admin token', status: 401 })
    await expect(api.deliveries('ab'.repeat(32))).rejects.toBeInstanceOf(ApiError)
    expect(getSession()).toEqual(session)
  })
})
