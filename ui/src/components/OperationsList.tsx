import type { TxInfo } from '../lib/types'
import { Key } from './Key'

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
              <div>{op.description}</div>
              <div className="muted small">
                {op.type.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ')}
                {op.source && (
                  <>
                    {' '}
                    · source <Key value={op.source} />
                  </>
                )}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
