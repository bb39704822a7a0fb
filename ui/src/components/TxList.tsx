import { formatTime } from '../lib/time'
import type { TxInfo } from '../lib/types'
import { Link } from '../router'
import { KeyText } from './KeyText'
import { StatusBadge } from './StatusBadge'

export function TxList({ items, empty }: { items: TxInfo[]; empty: string }) {
  if (items.length === 0) return <p className="muted">{empty}</p>
  return (
    <ul className="tx-list">
      {items.map((tx) => {
        const ops = tx.summary?.operations ?? []
        return (
          <li key={tx.hash} data-hash={tx.hash}>
            <Link to={`/tx/${tx.hash}`} className="tx-link">
              <span className="mono">{tx.hash.slice(0, 12)}…{tx.hash.slice(-6)}</span>
              <StatusBadge tx={tx} />
            </Link>
            <div className="small">
              <KeyText text={ops[0]?.description ?? 'Transaction'} />
              {ops.length > 1 && <span className="muted"> and {ops.length - 1} more operation{ops.length > 2 ? 's' : ''}</span>}
            </div>
            <div className="small muted">
              {tx.network} · uploaded {formatTime(tx.createdAt)}
              {tx.maxTime ? ` · expires ${formatTime(tx.maxTime)}` : ''}
            </div>
          </li>
        )
      })}
    </ul>
  )
}
