// Minimal, dependency-free look at a base64 TransactionEnvelope: enough to reject obvious mistakes
// before the server parses it fully.

import { base64ToBytes, compactBase64, isBase64 } from './base64'

export const ENVELOPE_TYPES: Record<number, string> = {
  0: 'transaction (v0)',
  2: 'transaction',
  5: 'fee-bump transaction',
}

export type EnvelopeCheck = { ok: true; xdr: string; kind: string } | { ok: false; error: string }

export function checkEnvelope(input: string): EnvelopeCheck {
  const xdr = compactBase64(input ?? '')
  if (!xdr) return { ok: false, error: 'Paste the transaction envelope XDR (base64).' }
  if (!isBase64(xdr)) return { ok: false, error: 'The XDR must be base64 (letters, digits, + and /, optionally ending with =).' }
  const bytes = base64ToBytes(xdr)
  if (bytes.length < 4 || bytes.length % 4 !== 0) {
    return { ok: false, error: 'This is not a transaction envelope: XDR data is a whole number of 4-byte words.' }
  }
  const type = (bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]
  const kind = ENVELOPE_TYPES[type]
  if (!kind) return { ok: false, error: 'This is not a transaction envelope (unknown envelope type).' }
  if (bytes.length < 60) return { ok: false, error: 'This transaction envelope is truncated.' }
  return { ok: true, xdr, kind }
}
