// Client-side checks for the upload form. They mirror the server's validation of POST /tx so the user
// sees mistakes at once; the server stays the authority and its field errors are shown the same way.

import { checkEnvelope } from './envelope'
import { isAccountId } from './strkey'
import type { NewTxRequest } from './types'

export const MAX_EXPIRES = 2147483647

export interface UploadForm {
  network: string
  xdr: string
  submit: boolean
  callbackUrl: string
  expires: string
  desiredSigners: string
}

export type FieldErrors = Partial<Record<keyof UploadForm | 'form', string>>

export function validateCallbackUrl(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'Enter a full URL, such as https://example.com/hook.'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'The callback URL must start with http:// or https://.'
  if (!url.hostname) return 'The callback URL needs a host name.'
  return null
}

/** Parses the expiry: a UNIX time in seconds. Returns the number or an error message. */
export function parseExpires(value: string, nowSeconds: number): number | string {
  const v = value.trim()
  if (!/^\d+$/.test(v)) return 'Expiry must be a UNIX time: a whole number of seconds.'
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n > MAX_EXPIRES) return `Expiry must be at most ${MAX_EXPIRES} (19 January 2038).`
  if (n <= nowSeconds) return 'Expiry must be in the future.'
  return n
}

/** Splits the desired-signers text (one per line, or separated by commas/spaces), dropping duplicates. */
export function splitSigners(text: string): string[] {
  const seen = new Set<string>()
  for (const part of text.split(/[\s,;]+/)) {
    const key = part.trim()
    if (key) seen.add(key)
  }
  return [...seen]
}

export function validateSigners(text: string): { keys: string[]; error: string | null } {
  const keys = splitSigners(text)
  const bad = keys.filter((k) => !isAccountId(k))
  if (bad.length === 0) return { keys, error: null }
  const shown = bad.slice(0, 3).map((k) => (k.length > 14 ? `${k.slice(0, 12)}…` : k)).join(', ')
  return {
    keys,
    error: `Not a valid account key (G…, 56 characters, checksum): ${shown}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}.`,
  }
}

export function validateUpload(
  form: UploadForm,
  knownNetworks: string[],
  nowSeconds: number = Math.floor(Date.now() / 1000),
): { errors: FieldErrors; request: NewTxRequest | null } {
  const errors: FieldErrors = {}
  const request: NewTxRequest = { network: form.network, xdr: '' }

  if (!form.network) errors.network = 'Choose a network.'
  else if (knownNetworks.length > 0 && !knownNetworks.includes(form.network)) errors.network = 'This network is not served here.'

  const env = checkEnvelope(form.xdr)
  if (env.ok) request.xdr = env.xdr
  else errors.xdr = env.error

  if (form.submit) request.submit = true

  const cb = form.callbackUrl.trim()
  if (cb) {
    const err = validateCallbackUrl(cb)
    if (err) errors.callbackUrl = err
    else request.callbackUrl = cb
  }

  if (form.expires.trim()) {
    const exp = parseExpires(form.expires, nowSeconds)
    if (typeof exp === 'string') errors.expires = exp
    else request.expires = exp
  }

  if (form.desiredSigners.trim()) {
    const { keys, error } = validateSigners(form.desiredSigners)
    if (error) errors.desiredSigners = error
    else request.desiredSigners = keys
  }

  return { errors, request: Object.keys(errors).length === 0 ? request : null }
}

/** Accepts a bare hash or a pasted link containing one; returns the lowercase hash or null. */
export function extractHash(text: string): string | null {
  const m = /(?:^|[^0-9a-f])([0-9a-f]{64})(?:$|[^0-9a-f])/i.exec(text.trim())
  return m ? m[1].toLowerCase() : null
}
