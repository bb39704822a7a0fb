// The transaction's history as an ordered list of events for the status timeline.

import { shortKey } from './strkey'
import type { Delivery, TxInfo } from './types'

export type TimelineKind = 'created' | 'signature' | 'ready' | 'submitted' | 'processed' | 'failed' | 'delivery' | 'expires'

export interface TimelineEvent {
  kind: TimelineKind
  at: number | null
  title: string
  detail?: string
  tone: 'neutral' | 'ok' | 'bad' | 'future'
}

function deliveryEvent(d: Delivery): TimelineEvent {
  const code = typeof d.status === 'number' ? d.status : Number(d.status)
  const ok = Number.isFinite(code) && code >= 200 && code < 300
  const parts = [`attempt ${d.attempt}`]
  if (d.status !== null && d.status !== undefined && d.status !== '') parts.push(`HTTP ${d.status}`)
  if (d.error) parts.push(d.error)
  if (typeof d.durationMs === 'number') parts.push(`${Math.round(d.durationMs)} ms`)
  return { kind: 'delivery', at: d.at, title: ok ? 'Callback delivered' : 'Callback delivery failed', detail: parts.join(' · '), tone: ok ? 'ok' : 'bad' }
}

export function buildTimeline(tx: TxInfo, deliveries: Delivery[] = [], nowSeconds = Date.now() / 1000): TimelineEvent[] {
  const events: TimelineEvent[] = [{ kind: 'created', at: tx.createdAt, title: 'Uploaded', detail: `to ${tx.network}`, tone: 'neutral' }]
  for (const s of tx.signatures ?? []) {
    events.push({ kind: 'signature', at: s.addedAt ?? null, title: `Signed by ${shortKey(s.key, 6, 6)}`, detail: s.key, tone: 'neutral' })
  }
  if (tx.readyAt) events.push({ kind: 'ready', at: tx.readyAt, title: 'Fully signed', detail: 'Every threshold is met.', tone: 'ok' })
  if (tx.submitted) {
    const ledger = tx.result?.ledger ? `in ledger ${tx.result.ledger}` : undefined
    events.push({ kind: 'submitted', at: tx.submitted, title: 'Executed on the network', detail: ledger, tone: 'ok' })
  }
  if (tx.status === 'failed') {
    events.push({ kind: 'failed', at: tx.updatedAt, title: 'Processing failed', detail: tx.error ?? undefined, tone: 'bad' })
  } else if (tx.status === 'processed' && !tx.submitted) {
    events.push({
      kind: 'processed',
      at: tx.updatedAt,
      title: 'Processed',
      detail: tx.submit
        ? undefined
        : tx.callback
          ? 'Handed to the callback; not submitted by Refractor.'
          : 'Not submitted by Refractor (auto-submit is off).',
      tone: 'ok',
    })
  }
  for (const d of deliveries) events.push(deliveryEvent(d))
  // Stable sort by time; events without a time keep their place after the previous one.
  const indexed = events.map((e, i) => ({ e, i }))
  indexed.sort((a, b) => (a.e.at ?? 0) - (b.e.at ?? 0) || a.i - b.i)
  const out = indexed.map((x) => x.e)
  if (tx.maxTime && (tx.status === 'pending' || tx.status === 'ready')) {
    const past = tx.maxTime <= nowSeconds
    out.push({ kind: 'expires', at: tx.maxTime, title: past ? 'Expired' : 'Expires', detail: past ? 'No longer collected or submitted.' : undefined, tone: past ? 'bad' : 'future' })
  }
  return out
}
