// GET /tx/{hash}/deliveries answers either the flat attempt list of docs/api.md
// ({"items": [{id, attempt, at, status, error, durationMs}]}) or one item per callback with its attempt
// log ({"items": [{id, url, status, attempts, lastError, log: [{attempt, at, status, error, durationMs}]}]}).
// Both become a flat, time-ordered list of attempts.

import type { Delivery } from './types'

type Raw = Record<string, unknown>

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function attempt(id: string | number, a: Raw, index: number): Delivery | null {
  const at = num(a.at)
  if (at === null) return null
  const status = typeof a.status === 'number' || typeof a.status === 'string' ? a.status : null
  return {
    id,
    attempt: num(a.attempt) ?? index + 1,
    at,
    status,
    error: typeof a.error === 'string' ? a.error : null,
    durationMs: num(a.durationMs),
  }
}

export function normalizeDeliveries(items: unknown): Delivery[] {
  if (!Array.isArray(items)) return []
  const out: Delivery[] = []
  for (const raw of items) {
    if (!raw || typeof raw !== 'object') continue
    const item = raw as Raw
    const id = (item.id as string | number) ?? out.length
    if (Array.isArray(item.log)) {
      item.log.forEach((entry, i) => {
        const a = entry && typeof entry === 'object' ? attempt(id, entry as Raw, i) : null
        if (a) out.push(a)
      })
    } else {
      const a = attempt(id, item, 0)
      if (a) out.push(a)
    }
  }
  return out.sort((x, y) => x.at - y.at)
}
