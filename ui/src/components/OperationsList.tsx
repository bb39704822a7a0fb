import type { TxInfo } from '../lib/types'
import { Key } from './Key'
import { KeyText } from './KeyText'

export function OperationsList({ tx }: { tx: TxInfo }) {
  const ops = tx.summary?.operations ?? []
  return (
    <section className="card" aria-labelledby="ops-title">
      <h2 id="ops-title">
        What it does <span className="muted small">({ops.length} operation{ops.length === 1 ? '' : 's'})</span>
      </h2>
      {ops.length === 0 ? (
        <p className="muted">No operation summary available.</p>
      ) : (
        <ol className="operations" data-testid="operations">
          {ops.map((op, i) => (
            <li key={i}>
              <div className="op-text">
                <KeyText text={op.description} />
              </div>
              <div className="muted small">
                {op.type.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ')}
                {op.source && (
                  <>
                    {' '}
                    · source <Key value={op.source} />
                  </>
                )}
                {op.threshold && <> · needs the {op.threshold} threshold</>}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
