import { useState, type FormEvent } from 'react'
import { ApiError, api } from '../lib/api'
import { checkEnvelope } from '../lib/envelope'
import { canSign, canSubmitManually } from '../lib/status'
import type { TxChanges, TxInfo } from '../lib/types'
import { ChangesFeedback } from './ChangesFeedback'
import { FileToText } from './FileToText'
import { SignOnPhone } from './SignOnPhone'
import { WalletSigner } from './WalletSigner'

/** Everything a co-signer can do: sign with a wallet, import a signed XDR, or submit a ready transaction. */
export function SignPanel({ tx, onUpdate }: { tx: TxInfo; onUpdate: (tx: TxInfo) => void }) {
  const [imported, setImported] = useState('')
  const [importError, setImportError] = useState('')
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const [changes, setChanges] = useState<{ changes: TxChanges; source: string } | null>(null)

  const sendSigned = async (xdr: string, source: string) => {
    setError('')
    const r = await api.addSignatures(tx.network, xdr)
    setChanges({ changes: r.changes ?? { accepted: [], rejected: [] }, source })
    const { changes: _ignored, ...info } = r
    onUpdate(info)
  }

  const importXdr = async (e: FormEvent) => {
    e.preventDefault()
    const env = checkEnvelope(imported)
    if (!env.ok) {
      setImportError(env.error)
      return
    }
    setBusy(true)
    try {
      await sendSigned(env.xdr, 'the imported XDR')
      setImported('')
    } catch (err) {
      setImportError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  const submitNow = async () => {
    setBusy(true)
    setError('')
    try {
      onUpdate(await api.submitTx(tx.hash))
    } catch (err) {
      setError(err instanceof ApiError && err.status === 409 ? `Not submitted: ${err.message}` : String((err as Error).message ?? err))
    } finally {
      setBusy(false)
    }
  }

  const signable = canSign(tx)
  const expired = tx.status === 'pending' && !signable

  return (
    <section className="card sign" aria-labelledby="sign-title" data-testid="sign-panel">
      <h2 id="sign-title">{signable ? 'Sign' : canSubmitManually(tx) ? 'Submit' : 'Status'}</h2>
      {signable && (
        <>
          <p className="small">
            Sign with the wallet that holds one of the keys still needed, or import an XDR that someone signed elsewhere.
          </p>
          <WalletSigner
            xdr={tx.xdr}
            network={tx.network}
            onSigned={(xdr, wallet) => sendSigned(xdr, `signing with ${wallet}`)}
            onError={setError}
          />
          <SignOnPhone hash={tx.hash} />
          <form className="import" onSubmit={importXdr} noValidate>
            <label htmlFor="import-xdr">Import a signed XDR</label>
            <textarea
              id="import-xdr"
              className="mono"
              rows={3}
              value={imported}
              onChange={(e) => {
                setImported(e.target.value)
                setImportError('')
              }}
              placeholder="Paste the signed transaction envelope (base64)"
              spellCheck={false}
              aria-invalid={!!importError}
              aria-describedby={importError ? 'import-xdr-error' : undefined}
            />
            {importError && (
              <p id="import-xdr-error" className="field-error">
                {importError}
              </p>
            )}
            <div className="field-tools">
              <button type="submit" className="button" disabled={busy}>
                {busy ? 'Adding…' : 'Add signatures'}
              </button>
              <FileToText id="import-file" label="Load from file" onText={(t) => setImported(t)} />
            </div>
          </form>
        </>
      )}
      {expired && <p className="alert bad">This transaction has expired: it no longer collects signatures.</p>}
      {canSubmitManually(tx) && (
        <div className="submit-now">
          <p>
            It is fully signed. Auto-submit is off: submit it to the network when you are ready{tx.callback ? ', or let the callback receiver handle it' : ''}.
          </p>
          <button type="button" className="button primary" onClick={submitNow} disabled={busy} data-testid="submit-now">
            {busy ? 'Submitting…' : 'Submit to the network'}
          </button>
        </div>
      )}
      {tx.status === 'ready' && tx.submit && <p>Fully signed. Refractor is submitting it automatically.</p>}
      {tx.status === 'processing' && <p>Submitting to the network…</p>}
      {tx.status === 'processed' && tx.submitted && <p className="alert ok">Done: the transaction is on the ledger.</p>}
      {tx.status === 'processed' && !tx.submitted && tx.submit && <p className="alert ok">Done: fully signed and processed.</p>}
      {error && (
        <p className="alert bad" role="alert">
          {error}
        </p>
      )}
      <ChangesFeedback changes={changes?.changes ?? null} source={changes?.source ?? ''} />
    </section>
  )
}
