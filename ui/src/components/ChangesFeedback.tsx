import type { TxChanges } from '../lib/types'
import { Key } from './Key'

const REASONS: Record<string, string> = {
  unknown_signer: 'this key is not a signer of any account the transaction needs',
  invalid_signature: 'the signature does not match this transaction (signed for another network, or a different transaction)',
  limit: 'the limit of signatures per transaction has been reached',
}

export function reasonText(reason: string | undefined): string {
  return (reason && REASONS[reason]) || reason || 'rejected'
}

/** What happened to the signatures just sent: accepted, rejected (with the reason), or already known. */
export function ChangesFeedback({ changes, source }: { changes: TxChanges | null; source: string }) {
  if (!changes) return null
  const { accepted, rejected } = changes
  const nothing = accepted.length === 0 && rejected.length === 0
  return (
    <div className="feedback" role="status" data-testid="changes">
      <p className="small muted">Result of {source}:</p>
      {nothing && <p className="alert info">No new signatures: every signature in it was already stored.</p>}
      {accepted.length > 0 && (
        <ul className="alert ok change-list">
          {accepted.map((a) => (
            <li key={a.signature} data-change="accepted">
              Accepted signature from <Key value={a.key} />
            </li>
          ))}
        </ul>
      )}
      {rejected.length > 0 && (
        <ul className="alert bad change-list">
          {rejected.map((r) => (
            <li key={r.signature} data-change="rejected">
              Rejected signature (key hint <code>{r.key.replace(/_+/g, '…')}</code>): {reasonText(r.reason)}.
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
