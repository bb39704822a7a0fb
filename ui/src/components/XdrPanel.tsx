import type { TxInfo } from '../lib/types'
import { CopyButton } from './CopyButton'

export function XdrPanel({ tx }: { tx: TxInfo }) {
  const signedNote =
    tx.status === 'pending'
      ? `with the ${tx.signatures.length} signature${tx.signatures.length === 1 ? '' : 's'} collected so far`
      : 'with the signatures that make it valid'
  return (
    <section className="card" aria-labelledby="xdr-title">
      <div className="card-head">
        <h2 id="xdr-title">Transaction XDR</h2>
        <CopyButton text={tx.xdr} label="Copy XDR" />
      </div>
      <p className="hint">The envelope {signedNote}.</p>
      <textarea className="mono xdr" readOnly rows={5} value={tx.xdr} aria-labelledby="xdr-title" data-testid="xdr" />
    </section>
  )
}

export function ShareLink({ hash }: { hash: string }) {
  const url = `${window.location.origin}/tx/${hash}`
  return (
    <div className="share">
      <label htmlFor="share-link" className="sub-label">
        Share with co-signers
      </label>
      <div className="inline-field">
        <input id="share-link" className="mono" readOnly value={url} onFocus={(e) => e.target.select()} />
        <CopyButton text={url} label="Copy link" />
      </div>
    </div>
  )
}
