import { useCallback, useEffect, useState, type FormEvent } from 'react'
import { CopyButton } from '../components/CopyButton'
import { Field } from '../components/Field'
import { PageHeading } from '../components/PageHeading'
import { SubscriptionLog } from '../components/SubscriptionLog'
import { ApiError, api } from '../lib/api'
import { shortKey, useSession } from '../lib/session'
import type { Subscription } from '../lib/types'
import { Link } from '../router'

const EVENTS: [string, string][] = [
  ['tx.awaiting_signature', 'A transaction waits for my signature'],
  ['tx.signature_added', 'A signature was added'],
  ['tx.ready', 'Fully signed'],
  ['tx.submitted', 'Submitted to the network'],
  ['tx.failed', 'Failed'],
  ['tx.expired', 'Expired'],
]

export default function NotificationsPage() {
  const session = useSession()
  const [items, setItems] = useState<Subscription[] | null>(null)
  const [error, setError] = useState('')
  const [url, setUrl] = useState('')
  const [events, setEvents] = useState<string[]>(['tx.awaiting_signature', 'tx.ready', 'tx.failed'])
  const [fieldErrors, setFieldErrors] = useState<{ url?: string; events?: string }>({})
  const [created, setCreated] = useState<Subscription | null>(null)
  const [busy, setBusy] = useState(false)

  const reload = useCallback(() => {
    api
      .subscriptions()
      .then(setItems)
      .catch((e: Error) => setError(e.message))
  }, [])
  useEffect(() => {
    if (session) reload()
  }, [session, reload])

  if (!session) {
    return (
      <section>
        <PageHeading title="Notifications" />
        <p className="card">
          <Link to="/signin?next=/notifications">Sign in with your wallet</Link> to be notified (signed webhooks) when a
          transaction needs your signature or changes.
        </p>
      </section>
    )
  }

  const add = async (e: FormEvent) => {
    e.preventDefault()
    setFieldErrors({})
    setError('')
    setBusy(true)
    try {
      const sub = await api.subscribe(url.trim(), events)
      setCreated(sub)
      setUrl('')
      reload()
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError(String(err), 0)
      if (apiErr.field === 'url' || apiErr.field === 'events') setFieldErrors({ [apiErr.field]: apiErr.message })
      else setError(apiErr.message)
    } finally {
      setBusy(false)
    }
  }

  const remove = async (id: string) => {
    setError('')
    try {
      await api.unsubscribe(id)
      if (created?.id === id) setCreated(null)
      reload()
    } catch (err) {
      setError((err as Error).message)
    }
  }

  return (
    <section>
      <PageHeading title="Notifications" />
      <p className="lead">
        Webhooks for the transactions of <span className="mono">{shortKey(session.account)}</span>: where it is a source account
        or a possible signer. Each request is signed (Standard Webhooks) with the subscription’s secret.
      </p>
      {error && (
        <p className="alert bad" role="alert">
          {error}
        </p>
      )}
      {created?.secret && (
        <div className="card alert good" role="status" data-testid="new-secret">
          <p>
            Subscription created. Its signing secret is shown <strong>only now</strong>: keep it with your receiver.
          </p>
          <p className="mono break">{created.secret}</p>
          <CopyButton text={created.secret} label="Copy secret" />
        </div>
      )}
      <section className="card" aria-labelledby="subs-title" data-testid="subscriptions">
        <h2 id="subs-title">Your subscriptions</h2>
        {items === null ? (
          <p className="muted">Loading…</p>
        ) : items.length === 0 ? (
          <p className="muted">No subscriptions yet.</p>
        ) : (
          <ul className="plain-list">
            {items.map((s) => (
              <li key={s.id} data-subscription={s.id}>
                <span className="mono break">{s.url}</span>
                <span className="small muted block">{s.events.join(', ')}</span>
                <div className="row-actions">
                  <button type="button" className="button small" onClick={() => remove(s.id)} data-testid="remove">
                    Remove
                  </button>
                </div>
                <SubscriptionLog id={s.id} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <form className="card form" onSubmit={add} noValidate aria-busy={busy}>
        <h2>Add a subscription</h2>
        <Field id="sub-url" label="Receiver URL" hint="https://… that accepts POST requests" error={fieldErrors.url}>
          {(a) => <input {...a} className="mono" type="url" value={url} onChange={(e) => setUrl(e.target.value)} autoComplete="off" />}
        </Field>
        <fieldset className="field" aria-describedby={fieldErrors.events ? 'sub-events-error' : undefined}>
          <legend>Events</legend>
          {EVENTS.map(([name, label]) => (
            <div className="checkbox" key={name}>
              <input
                id={`ev-${name}`}
                type="checkbox"
                checked={events.includes(name)}
                onChange={(e) => setEvents((list) => (e.target.checked ? [...list, name] : list.filter((x) => x !== name)))}
              />
              <label htmlFor={`ev-${name}`}>
                {label} <span className="small muted mono">{name}</span>
              </label>
            </div>
          ))}
          {fieldErrors.events && (
            <p id="sub-events-error" className="field-error">
              {fieldErrors.events}
            </p>
          )}
        </fieldset>
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add subscription'}
        </button>
      </form>
    </section>
  )
}
