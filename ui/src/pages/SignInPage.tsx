import { useState } from 'react'
import { PageHeading } from '../components/PageHeading'
import { WalletPicker } from '../components/WalletPicker'
import { shortKey, setSession, useSession } from '../lib/session'
import { Link, navigate, useLocation } from '../router'
import type { WalletChoice } from '../wallet/kit'

export default function SignInPage() {
  const session = useSession()
  const { search } = useLocation()
  const [busy, setBusy] = useState<string | null>(null)
  const [error, setError] = useState('')

  const pick = async (w: WalletChoice) => {
    setError('')
    setBusy(`Asking ${w.name} for your account…`)
    try {
      const { signIn } = await import('../wallet/signIn')
      await signIn(w.id, setBusy)
      const next = search.get('next')
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/queue')
    } catch (e) {
      const { walletErrorMessage } = await import('../wallet/kit')
      setError(`${w.name}: ${walletErrorMessage(e)}`)
    } finally {
      setBusy(null)
    }
  }

  return (
    <section>
      <PageHeading title="Sign in with your wallet" />
      <p className="lead">
        Signing in proves you control a Stellar account (SEP-10): your wallet signs a challenge from this server, which is never
        submitted. Signed in, you see the private transactions of your account in <Link to="/queue">My queue</Link> and can set
        up <Link to="/notifications">notifications</Link>.
      </p>
      <div className="card" data-testid="sign-in">
        {session ? (
          <>
            <p>
              Signed in as <span className="mono" title={session.account}>{shortKey(session.account)}</span>.
            </p>
            <button type="button" className="button" onClick={() => setSession(null)}>
              Sign out
            </button>
          </>
        ) : (
          <WalletPicker label="Choose a wallet" busyText={busy} onPick={pick} onError={setError} testId="sign-in-wallet" />
        )}
        {error && (
          <p className="alert bad" role="alert">
            {error}
          </p>
        )}
        <p className="small muted">
          A multisig account signs in with enough of its signers to reach its medium threshold; an account not on the ledger yet
          with its own key.
        </p>
      </div>
    </section>
  )
}
