import { useState, type FormEvent } from 'react'
import { PageHeading } from '../components/PageHeading'
import { extractHash } from '../lib/validation'
import { Link, navigate } from '../router'

export function HomePage() {
  const [value, setValue] = useState('')
  const [error, setError] = useState('')

  const open = (e: FormEvent) => {
    e.preventDefault()
    const hash = extractHash(value)
    if (!hash) {
      setError('Enter a transaction hash: 64 hexadecimal characters (or a link that contains one).')
      return
    }
    navigate(`/tx/${hash}`)
  }

  return (
    <section className="home">
      <PageHeading title="Multisig coordination for Stellar">Collect signatures for Stellar transactions</PageHeading>
      <p className="lead">
        Refractor keeps a transaction that needs several signatures until every co-signer has signed it, checks the
        signatures against the accounts’ signers and thresholds on the network, and submits it once it is fully
        signed.
      </p>
      <ol className="steps">
        <li>
          <strong>Upload</strong> the unsigned (or partly signed) transaction XDR and choose whether Refractor should
          submit it when ready.
        </li>
        <li>
          <strong>Share</strong> the transaction’s link with the co-signers. Anyone with the link can see it.
        </li>
        <li>
          <strong>Sign</strong> with a wallet (Freighter, Albedo, xBull, LOBSTR, Rabet, Hana and more) or import a
          signed XDR. The page shows live who has signed and how much weight is still missing.
        </li>
        <li>
          <strong>Submit</strong>: automatically, or with one click, as soon as every threshold is met.
        </li>
      </ol>
      <div className="actions">
        <Link to="/tx/add" className="button primary">
          Upload a transaction
        </Link>
        <Link to="/queue" className="button">
          What needs my signature?
        </Link>
      </div>

      <form className="card open-form" onSubmit={open} noValidate>
        <h2>Open a transaction</h2>
        <label htmlFor="open-hash">Transaction hash or link</label>
        <div className="inline-field">
          <input
            id="open-hash"
            className="mono"
            value={value}
            onChange={(e) => {
              setValue(e.target.value)
              setError('')
            }}
            placeholder="64 hexadecimal characters"
            autoComplete="off"
            spellCheck={false}
            aria-invalid={!!error}
            aria-describedby={error ? 'open-hash-error' : undefined}
          />
          <button type="submit" className="button primary">
            Open
          </button>
        </div>
        <p id="open-hash-error" className="field-error" role="alert" hidden={!error}>
          {error}
        </p>
      </form>

      <p className="note">
        Good to know: the source account must exist on the network; anyone with the link can view the transaction;
        auto-submission does not guarantee the order between different transactions.
      </p>
    </section>
  )
}
