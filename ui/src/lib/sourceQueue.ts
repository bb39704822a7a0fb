import type { TxInfo } from './types'

/** One row of a source account's queue: the records holding one sequence number. */
export interface QueueRow {
  sequence: bigint
  items: TxInfo[]
  /** "Next", "Submitting", "Queued #2", "Blocked: sequence N missing", … */
  label: string
  tone: 'ok' | 'wait' | 'bad'
  /** Several records with the same sequence: only one of them can be applied. */
  conflict: boolean
}

const LIVE = new Set(['pending', 'ready', 'processing'])

function sequenceOf(tx: TxInfo): bigint | null {
  const raw = tx.summary?.sequence
  if (raw === undefined || raw === null || raw === '') return null
  try {
    return BigInt(raw)
  } catch {
    return null
  }
}

function missingText(tx: TxInfo): string | null {
  const w = tx.waitingFor
  if (!w || w.kind !== 'blocked' || !w.missing?.length) return null
  const parts = w.missing.map((r) => (r.from === r.to ? r.from : `${r.from}–${r.to}`))
  return `Blocked: sequence ${parts.join(', ')} missing`
}

/**
 * The live records of `source`, in the order they go to the network: by sequence number, records
 * with the same number side by side. Labels come from what the server says a record waits for,
 * and from gaps between the numbers listed.
 */
export function sourceQueue(source: string, records: TxInfo[]): QueueRow[] {
  const bySeq = new Map<bigint, TxInfo[]>()
  const seen = new Set<string>()
  for (const tx of records) {
    if (seen.has(tx.hash) || !LIVE.has(tx.status) || tx.summary?.source !== source) continue
    seen.add(tx.hash)
    const seq = sequenceOf(tx)
    if (seq === null) continue
    bySeq.set(seq, [...(bySeq.get(seq) ?? []), tx])
  }
  const sequences = [...bySeq.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const rows: QueueRow[] = []
  let blockedFrom: bigint | null = null
  sequences.forEach((seq, index) => {
    const items = bySeq.get(seq) ?? []
    const previous = index > 0 ? sequences[index - 1] : null
    let label: string
    let tone: QueueRow['tone'] = 'wait'
    const blocked = items.map(missingText).find((t) => t !== null)
    if (blocked) {
      label = blocked
      tone = 'bad'
      blockedFrom = blockedFrom ?? seq
    } else if (previous !== null && seq > previous + 1n) {
      const from = previous + 1n
      const to = seq - 1n
      label = `Blocked: sequence ${from === to ? from : `${from}–${to}`} missing`
      tone = 'bad'
      blockedFrom = blockedFrom ?? seq
    } else if (blockedFrom !== null) {
      label = `Queued #${index + 1} (after a gap)`
    } else if (index === 0) {
      const sending = items.some((t) => t.status === 'processing')
      label = sending ? 'Submitting' : 'Next'
      tone = 'ok'
    } else {
      label = `Queued #${index + 1}`
    }
    rows.push({ sequence: seq, items, label, tone, conflict: items.length > 1 })
  })
  return rows
}

/** What a record waits for, in words (null when it waits for nothing but signatures). */
export function waitingText(tx: TxInfo): string | null {
  const w = tx.waitingFor
  if (!w) return null
  const at = (t?: number) => (t ? new Date(t * 1000).toLocaleString() : 'later')
  switch (w.kind) {
    case 'predecessor':
      return 'Waiting for the transaction before it (previous sequence number) to be applied'
    case 'sibling':
      return 'Another transaction with the same sequence number goes first; only one can be applied'
    case 'blocked':
      return missingText(tx)
    case 'minTime':
      return `Valid from ${at(w.at)}`
    case 'ledger':
      return `Valid from ledger ${w.ledger}`
    case 'minSeqAge':
      return `Valid from ${at(w.at)} (minimum sequence age)`
    case 'minSeqLedgerGap':
      return `Valid from ledger ${w.ledger} (minimum ledger gap)`
    default:
      return null
  }
}
