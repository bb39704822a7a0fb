import { statusLabel, statusTone } from '../lib/status'
import type { TxInfo } from '../lib/types'

export function StatusBadge({ tx }: { tx: Pick<TxInfo, 'status' | 'submitted' | 'submit'> }) {
  return (
    <span className={`badge tone-${statusTone(tx.status)}`} data-status={tx.status}>
      {statusLabel(tx)}
    </span>
  )
}
