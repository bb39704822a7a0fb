import { codesInText, explainResult } from '../lib/resultCodes'
import type { TxInfo } from '../lib/types'
import { Link } from '../router'

/** Why the transaction failed: the stored error and every result code, explained in words. */
export function FailurePanel({ tx }: { tx: TxInfo }) {
  const failed = tx.status === 'failed' || (tx.result && tx.result.successful === false)
  if (!failed) return null
  const { tx: txCode, ops } = explainResult(tx.result?.transactionCode, tx.result?.operationCodes)
  const seen = new Set([txCode?.code, ...ops.map((o) => o.code)].filter(Boolean).map((c) => String(c).toLowerCase()))
  const fromText = codesInText(tx.error).filter((c) => !seen.has(c.code.toLowerCase()))
  return (
    <section className="card failure" aria-labelledby="failure-title" data-testid="failure">
      <h2 id="failure-title">Why it failed</h2>
      {tx.error && <p className="alert bad">{tx.error}</p>}
      {tx.reason?.code === 'superseded_by' && tx.reason.hash && (
        <p data-testid="superseded-by">
          Applied instead: <Link to={`/tx/${tx.reason.hash}`} className="mono">{tx.reason.hash.slice(0, 12)}…</Link>
        </p>
      )}
      {(txCode || ops.length > 0 || fromText.length > 0) && (
        <dl className="codes">
          {txCode && (
            <div className="prop-row">
              <dt>
                <code>{txCode.code}</code>
              </dt>
              <dd>{txCode.text}</dd>
            </div>
          )}
          {ops.map((o) => (
            <div className="prop-row" key={`${o.index}:${o.code}`}>
              <dt>
                Operation {(o.index ?? 0) + 1}: <code>{o.code}</code>
              </dt>
              <dd>{o.text}</dd>
            </div>
          ))}
          {fromText.map((c) => (
            <div className="prop-row" key={c.code}>
              <dt>
                <code>{c.code}</code>
              </dt>
              <dd>{c.text}</dd>
            </div>
          ))}
        </dl>
      )}
      {tx.result?.ledger ? <p className="small muted">Recorded in ledger {tx.result.ledger}.</p> : null}
    </section>
  )
}
