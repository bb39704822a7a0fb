import { useEffect, useState, type FormEvent } from 'react'
import { PageHeading } from '../components/PageHeading'
import { SourceQueues } from '../components/SourceQueue'
import { TxList } from '../components/TxList'
import { WalletPicker } from '../components/WalletPicker'
import { api } from '../lib/api'
import { loadNetworks } from '../lib/networks'
import { useSession } from '../lib/session'
import { isAccountId } from '../lib/strkey'
import { usePagedList } from '../lib/usePagedList'
import { navigate, useLocation } from '../router'
import type { WalletChoice } from '../wallet/kit'

const PAGE = 20

function ListSection({ title, id, list, empty }: { title: string; id: string; list: ReturnType<typeof usePagedList>; empty: string }) {
  return (
    <section className="card" aria-labelledby={id} aria-busy={list.loading} data-testid={id}>
      <h2 id={id}>{title}</h2>
      {list.error && <p className="alert bad">{list.error}</p>}
      {list.loading && list.items.length === 0 ? <p className="muted">Loading…</p> : <TxList items={list.items} empty={empty} />}
      {list.next && (
        <button type="button" className="button" onClick={list.loadMore} disabled={list.loading}>
          {list.loading ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  )
}

export default function QueuePage() {
  const { search } = useLocation()
  const session = useSession()
  // Signed in: your own account unless another one is asked for; private records come with the token.
  const account = search.get('account') ?? session?.account ?? ''
  const valid = isAccountId(account)
  const [input, setInput] = useState(account)
  const [error, setError] = useState(account && !valid ? 'Not a valid account key (G…, 56 characters).' : '')
  const [busy, setBusy] = useState<string | null>(null)
  useEffect(() => setInput(account), [account])
  const [networks, setNetworks] = useState<string[]>([])
  useEffect(() => {
    loadNetworks()
      .then((list) => setNetworks(list.map((n) => n.name)))
      .catch(() => setNetworks([]))
  }, [])

  const who = session?.account ?? ''
  const awaiting = usePagedList(valid ? `a:${account}:${who}` : null, (cursor) =>
    api.listTx({ awaiting: account, status: 'pending', limit: PAGE, cursor }),
  )
  const involved = usePagedList(valid ? `i:${account}:${who}` : null, (cursor) => api.listTx({ account, limit: PAGE, cursor }))

  const show = (key: string) => {
    const k = key.trim()
    if (!isAccountId(k)) {
      setError('Not a valid account key: G…, 56 characters, with a valid checksum.')
      return
    }
    setError('')
    setInput(k)
    navigate(`/queue?account=${k}`)
  }

  const fromWallet = async (w: WalletChoice) => {
    setBusy(`Asking ${w.name} for your account…`)
    try {
      const { connectWallet } = await import('../wallet/kit')
      show(await connectWallet(w.id))
    } catch (e) {
      const { walletErrorMessage } = await import('../wallet/kit')
      setError(`${w.name}: ${walletErrorMessage(e)}`)
    } finally {
      setBusy(null)
    }
  }

  return (
    <section>
      <PageHeading title="My queue" />
      <p className="lead">
        Transactions waiting for your signature, and every transaction that involves your account.{' '}
        {session ? 'Private transactions of your account are included.' : 'Sign in with your wallet to include private ones.'}
      </p>
      <form
        className="card"
        noValidate
        onSubmit={(e: FormEvent) => {
          e.preventDefault()
          show(input)
        }}
      >
        <label htmlFor="queue-account">Your account (G…)</label>
        <div className="inline-field">
          <input
            id="queue-account"
            className="mono"
            value={input}
            onChange={(e) => {
              setInput(e.target.value)
              setError('')
            }}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={!!error}
            aria-describedby={error ? 'queue-account-error' : undefined}
          />
          <button type="submit" className="button primary">
            Show
          </button>
        </div>
        {error && (
          <p id="queue-account-error" className="field-error">
            {error}
          </p>
        )}
        <div className="or-wallet">
          <span className="muted small">or</span>
          <WalletPicker label="Use my wallet’s account" busyText={busy} onPick={fromWallet} onError={setError} />
        </div>
      </form>
      {valid && (
        <>
          <ListSection title="Awaiting your signature" id="awaiting" list={awaiting} empty="Nothing is waiting for your signature." />
          <SourceQueues source={account} networks={networks} />
          <ListSection title="All transactions involving this account" id="involved" list={involved} empty="No transactions found." />
        </>
      )}
    </section>
  )
}
