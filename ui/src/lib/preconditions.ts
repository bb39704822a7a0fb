// Turns the summary's `preconditions` (and `memo`) into labelled rows of plain text. The shape is read
// defensively: known keys get friendly labels, anything else is shown as it is.

import { formatTime } from './time'

export interface Row {
  label: string
  value: string
}

const LABELS: Record<string, string> = {
  timeBounds: 'Valid between',
  minTime: 'Not valid before',
  maxTime: 'Not valid after',
  ledgerBounds: 'Ledger range',
  minLedger: 'From ledger',
  maxLedger: 'Up to ledger',
  minSeqNum: 'Minimum source sequence',
  minSequence: 'Minimum source sequence',
  minSeqAge: 'Minimum sequence age',
  minSequenceAge: 'Minimum sequence age',
  minSeqLedgerGap: 'Minimum ledger gap',
  minSequenceLedgerGap: 'Minimum ledger gap',
  extraSigners: 'Extra signers required',
}

function humanize(key: string): string {
  return LABELS[key] ?? key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase())
}

function timeValue(v: unknown): string {
  const n = Number(v)
  if (!v || !Number.isFinite(n) || n === 0) return 'no limit'
  return `${formatTime(n)} (${n})`
}

function duration(v: unknown): string {
  const n = Number(v)
  if (!Number.isFinite(n)) return String(v)
  if (n < 120) return `${n} seconds`
  if (n < 7200) return `${Math.round(n / 60)} minutes`
  return `${(n / 3600).toFixed(1)} hours`
}

function plain(v: unknown): string {
  if (v === null || v === undefined) return '—'
  if (Array.isArray(v)) return v.map(plain).join(', ')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === '' || v === 0 || v === '0' || (Array.isArray(v) && v.length === 0)
}

export function describePreconditions(pre: Record<string, unknown> | null | undefined): Row[] {
  if (!pre || typeof pre !== 'object') return []
  const rows: Row[] = []
  for (const [key, value] of Object.entries(pre)) {
    if (isEmpty(value)) continue
    if (key === 'timeBounds' && value && typeof value === 'object') {
      const tb = value as { minTime?: unknown; maxTime?: unknown }
      if (!isEmpty(tb.minTime)) rows.push({ label: LABELS.minTime, value: timeValue(tb.minTime) })
      if (!isEmpty(tb.maxTime)) rows.push({ label: LABELS.maxTime, value: timeValue(tb.maxTime) })
      continue
    }
    if (key === 'ledgerBounds' && value && typeof value === 'object') {
      const lb = value as { minLedger?: unknown; maxLedger?: unknown }
      rows.push({ label: LABELS.ledgerBounds, value: `${isEmpty(lb.minLedger) ? 'any' : lb.minLedger} – ${isEmpty(lb.maxLedger) ? 'any' : lb.maxLedger}` })
      continue
    }
    if (key === 'minTime' || key === 'maxTime') rows.push({ label: LABELS[key], value: timeValue(value) })
    else if (key === 'minSeqAge' || key === 'minSequenceAge') rows.push({ label: LABELS[key], value: duration(value) })
    else if (key === 'minSeqLedgerGap' || key === 'minSequenceLedgerGap') rows.push({ label: LABELS[key], value: `${value} ledgers` })
    else rows.push({ label: humanize(key), value: plain(value) })
  }
  return rows
}

export function describeMemo(memo: unknown): string | null {
  if (memo === null || memo === undefined || memo === '') return null
  if (typeof memo === 'string') return memo
  if (typeof memo === 'object') {
    const m = memo as { type?: string; value?: unknown }
    if (m.type === 'none' || m.type === 'MEMO_NONE') return null
    if ('value' in m) return `${plain(m.value)}${m.type ? ` (${String(m.type).replace(/^MEMO_/, '').toLowerCase()})` : ''}`
  }
  return plain(memo)
}
