import { describeMemo, describePreconditions } from '../lib/preconditions'
import { formatTime, relativeTime } from '../lib/time'
import type { TxInfo } from '../lib/types'
import { Key } from './Key'

export function DetailsPanel({ tx }: { tx: TxInfo }) {
  const s = tx.summary ?? {}
  const memo = describeMemo(s.memo)
  const pre = describePreconditions(s.preconditions)
  return (
    <section className="card" aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <dl className="props">
        <dt>Network</dt>
        <dd>{tx.network}</dd>
        {s.source && (
          <>
            <dt>Source account</dt>
            <dd>
              <Key value={s.source} full />
            </dd>
          </>
        )}
        {tx.feeBump && (
          <>
            <dt>Fee paid by</dt>
            <dd>
              <Key value={tx.feeBump.feeSource} full />
            </dd>
            <dt>Inner transaction</dt>
            <dd className="mono break">{tx.feeBump.innerHash}</dd>
          </>
        )}
        {s.fee !== undefined && (
          <>
            <dt>Maximum fee</dt>
            <dd>{formatFee(s.fee)}</dd>
          </>
        )}
        {s.sequence !== undefined && (
          <>
            <dt>Sequence number</dt>
            <dd className="mono">{String(s.sequence)}</dd>
          </>
        )}
        {memo && (
          <>
            <dt>Memo</dt>
            <dd className="break">{memo}</dd>
          </>
        )}
        <dt>Auto-submit</dt>
        <dd>{tx.submit ? 'Yes, when fully signed' : 'No (submit manually when ready)'}</dd>
        {tx.callback && (
          <>
            <dt>Callback</dt>
            <dd data-testid="callback">Registered (its URL is private to the operator)</dd>
          </>
        )}
        <dt>Expires</dt>
        <dd>{tx.maxTime ? `${formatTime(tx.maxTime)} (${relativeTime(tx.maxTime)})` : 'Never'}</dd>
        {tx.minTime > 0 && (
          <>
            <dt>Valid from</dt>
            <dd>{formatTime(tx.minTime)}</dd>
          </>
        )}
      </dl>
      <h3>Preconditions</h3>
      {pre.length === 0 ? (
        <p className="muted" data-testid="preconditions">
          None besides the signatures.
        </p>
      ) : (
        <dl className="props" data-testid="preconditions">
          {pre.map((r) => (
            <div key={r.label} className="prop-row">
              <dt>{r.label}</dt>
              <dd className="break">{r.value}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  )
}

function formatFee(fee: string | number): string {
  const stroops = Number(fee)
  if (!Number.isFinite(stroops)) return String(fee)
  return `${(stroops / 1e7).toFixed(7).replace(/\.?0+$/, '')} XLM (${stroops} stroops)`
}
