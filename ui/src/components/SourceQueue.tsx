import { useEffect, useState } from 'react'
import { api } from '../lib/api'
import { sourceQueue, waitingText, type QueueRow } from '../lib/sourceQueue'
import type { TxInfo } from '../lib/types'
import { Link } from '../router'
import { StatusBadge } from './StatusBadge'

const LIMIT = 100

/** The live records of one source account, by sequence number. */
async function loadQueue(source: string, network: string): Promise<TxInfo[]> {
  const pages = await Promise.all(
    ['processing', 'ready', 'pending'].map((status) => api.listTx({ account: source, status, network, limit: LIMIT })),
  )
  return pages.flatMap((p) => p.items)
}

/**
 * An account's outgoing queue: transactions from one source go to the network one at a time, in
 * sequence order. `current` is highlighted; `refresh` reloads when it changes.
 */
export function SourceQueue({
  source,
  network,
  current,
  refresh,
  minItems = 2,
  title = 'Queue of this source account',
}: {
  source: string
  network: string
  current?: string
  refresh?: unknown
  /** Shown only when the source has at least this many live transactions. */
  minItems?: number
  title?: string
}) {
  const [rows, setRows] = useState<QueueRow[] | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    let live = true
    loadQueue(source, network)
      .then((items) => live && (setRows(sourceQueue(source, items)), setError('')))
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)))
    return () => {
      live = false
    }
  }, [source, network, refresh])

  if (!error && (rows === null || rows.reduce((n, r) => n + r.items.length, 0) < minItems)) return null
  return (
    <section className="card" aria-labelledby={`queue-${network}-${source}`} data-testid="source-queue">
      <h2 id={`queue-${network}-${source}`}>{title}</h2>
      <p className="small muted">Transactions from one account are submitted one at a time, in sequence order.</p>
      {error && <p className="alert bad">{error}</p>}
      <ol className="source-queue">
        {(rows ?? []).map((row) => (
          <li key={row.sequence.toString()} data-sequence={row.sequence.toString()} data-conflict={row.conflict}>
            <div className="queue-row-head">
              <span className={`badge tone-${row.tone}`} data-testid="queue-label">
                {row.label}
              </span>
              <span className="mono small">sequence {row.sequence.toString()}</span>
              {row.conflict && <span className="small alert bad">Conflict: only one of these can be applied</span>}
            </div>
            <div className={row.conflict ? 'queue-conflict' : undefined}>
              {row.items.map((tx) => (
                <div key={tx.hash} className="queue-item" data-hash={tx.hash} aria-current={tx.hash === current ? 'true' : undefined}>
                  <Link to={`/tx/${tx.hash}`} className="mono">
                    {tx.hash.slice(0, 12)}…
                  </Link>{' '}
                  <StatusBadge tx={tx} />
                  {tx.hash === current && <span className="small"> (this transaction)</span>}
                  {waitingText(tx) && <div className="small muted">{waitingText(tx)}</div>}
                </div>
              ))}
            </div>
          </li>
        ))}
      </ol>
    </section>
  )
}

/** The account's outgoing queue on every network the server knows. */
export function SourceQueues({ source, networks }: { source: string; networks: string[] }) {
  return (
    <>
      {networks.map((network) => (
        <SourceQueue
          key={network}
          source={source}
          network={network}
          minItems={1}
          title={networks.length > 1 ? `Outgoing queue (${network})` : 'Outgoing queue'}
        />
      ))}
    </>
  )
}
