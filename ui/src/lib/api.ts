// Refractor API client. Every failure becomes an ApiError carrying the server's
// {"error","status","field"} so forms can show the message next to the field concerned.

import { apiUrl } from './config'
import { normalizeDeliveries } from './deliveries'
import { getSession, setSession } from './session'
import type { Delivery, EventDeliveryInfo, NetworkInfo, NewTxRequest, Sep7Link, Subscription, TxInfo, TxPage, TxPostResponse } from './types'

export class ApiError extends Error {
  readonly status: number
  readonly field: string | null
  readonly body: unknown

  constructor(message: string, status: number, field: string | null = null, body: unknown = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.field = field
    this.body = body
  }
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

let fetchImpl: FetchLike = (input, init) => fetch(input, init)

/** Replaces fetch (unit tests). */
export function setFetch(impl: FetchLike): void {
  fetchImpl = impl
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was not understood.',
  404: 'Not found.',
  405: 'This action is not allowed here.',
  409: 'This cannot be done in the current state.',
  413: 'The request is too large.',
  415: 'Unsupported content type.',
  429: 'Too many requests. Please wait a moment and try again.',
  500: 'The server had an internal error.',
  502: 'The server could not be reached (bad gateway).',
  503: 'The service is temporarily unavailable.',
  504: 'The server took too long to answer.',
}

/** Builds an ApiError from a non-2xx response body (parsed JSON or raw text). */
export function errorFromResponse(status: number, statusText: string, body: unknown, retryAfter?: string | null): ApiError {
  let message = ''
  let field: string | null = null
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    if (typeof b.error === 'string') message = b.error
    else if (typeof b.message === 'string') message = b.message
    if (typeof b.field === 'string' && b.field) field = b.field
  }
  if (!message) message = STATUS_TEXT[status] ?? (statusText || `Request failed with status ${status}.`)
  if (status === 429 && retryAfter) message += ` (retry after ${retryAfter} s)`
  return new ApiError(message, status, field, body)
}

const FIELD_HINTS: [RegExp, string][] = [
  [/\bxdr\b|envelope/i, 'xdr'],
  [/\bnetwork\b/i, 'network'],
  [/callback/i, 'callbackUrl'],
  [/desired/i, 'desiredSigners'],
  [/expire/i, 'expires'],
]

/**
 * The request field an error is about: the server's `field`, else a field named in the message
 * (older servers, and errors such as "Invalid transaction XDR" that carry no field).
 */
export function errorField(err: ApiError, fields: readonly string[]): string | null {
  if (err.field && fields.includes(err.field)) return err.field
  if (err.status !== 400) return null
  const quoted = /"([A-Za-z]+)"/.exec(err.message)?.[1]
  if (quoted && fields.includes(quoted)) return quoted
  for (const [re, field] of FIELD_HINTS) if (re.test(err.message) && fields.includes(field)) return field
  return null
}

export async function apiRequest<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  // no-store: the UI and the API share URLs (/tx/{hash} is a page for browsers and JSON for fetch), so a
  // cached HTML answer must never be reused for a JSON request; the data is live anyway.
  const opts: RequestInit = { method: init.method ?? 'GET', headers, signal: init.signal, cache: 'no-store' }
  // Signed in: every request carries the token, so private records of the account show up.
  const session = getSession()
  if (session) headers.Authorization = `Bearer ${session.token}`
  if (init.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    opts.body = JSON.stringify(init.body)
  }
  let response: Response
  try {
    response = await fetchImpl(apiUrl(path), opts)
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e
    throw new ApiError('Could not reach the server. Check your connection and try again.', 0)
  }
  const text = await response.text()
  let body: unknown = null
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  if (!response.ok) {
    // The sign-in expired or is no longer accepted (RFC 6750 invalid_token): sign out. Other 401s (the
    // operator's routes) leave the session alone.
    const invalidToken = response.status === 401 && (body as { reason?: unknown } | null)?.reason === 'invalid_token'
    if (invalidToken && session && getSession()?.token === session.token) setSession(null)
    throw errorFromResponse(response.status, response.statusText, body, response.headers.get('Retry-After'))
  }
  if (response.status === 204) return {} as T
  if (body === null || typeof body !== 'object') {
    throw new ApiError('The server sent an unexpected answer.', response.status, null, body)
  }
  return body as T
}

export function queryString(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

export const api = {
  networks: () => apiRequest<{ networks: NetworkInfo[] }>('/networks').then((r) => r.networks ?? []),
  getTx: (hash: string, signal?: AbortSignal) => apiRequest<TxInfo>(`/tx/${encodeURIComponent(hash)}`, { signal }),
  postTx: (req: NewTxRequest) => apiRequest<TxPostResponse>('/tx', { method: 'POST', body: req }),
  addSignatures: (network: string, xdr: string) => apiRequest<TxPostResponse>('/tx', { method: 'POST', body: { network, xdr } }),
  submitTx: (hash: string) => apiRequest<TxInfo>(`/tx/${encodeURIComponent(hash)}/submit`, { method: 'POST' }),
  deliveries: (hash: string) =>
    apiRequest<{ items: unknown }>(`/tx/${encodeURIComponent(hash)}/deliveries`).then((r): Delivery[] => normalizeDeliveries(r.items)),
  listTx: (params: { account?: string; signer?: string; awaiting?: string; status?: string; network?: string; limit?: number; cursor?: string | null }) =>
    apiRequest<TxPage>(`/tx${queryString(params)}`),
  openapi: () => apiRequest<Record<string, unknown>>('/openapi.json'),
  authChallenge: (account: string, network: string) =>
    apiRequest<{ transaction: string; network_passphrase: string }>(`/auth${queryString({ account, network })}`),
  authToken: (transaction: string) => apiRequest<{ token: string }>('/auth', { method: 'POST', body: { transaction } }),
  subscriptions: () => apiRequest<{ items: Subscription[] }>('/subscriptions').then((r) => r.items ?? []),
  subscribe: (url: string, events: string[]) =>
    apiRequest<Subscription>('/subscriptions', { method: 'POST', body: { url, events } }),
  subscriptionLog: (id: string) =>
    apiRequest<{ items: EventDeliveryInfo[] }>(`/subscriptions/${encodeURIComponent(id)}/deliveries`).then((r) => r.items ?? []),
  sendTestEvent: (id: string) => apiRequest<{ id: string }>(`/subscriptions/${encodeURIComponent(id)}/test`, { method: 'POST' }),
  unsubscribe: (id: string) => apiRequest<unknown>(`/subscriptions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  sep7Link: (hash: string) => apiRequest<Sep7Link>(`/tx/${encodeURIComponent(hash)}/sep7`),
}
