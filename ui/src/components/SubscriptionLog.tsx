import { useCallback, useEffect, useState } from 'react'
import { api } from '../lib/api'
import type { EventDeliveryInfo } from '../lib/types'
import { Link } from '../router'

const WATCH_MS = 60_000
const POLL_MS = 2_000

/** One subscription's delivery log, with "Send test event"; re-read every 2 s while events are pending. */
export function SubscriptionLog({ id }: { id: string }) {
  const [items, setItems] = useState<EventDeliveryInfo[] | null>(null)
  const [error, setError] = useState('')
  const [until, setUntil] = useState(() => Date.now() + WATCH_MS)

  const load = useCallback(() => {
    api
      .subscriptionLog(id)
      .then((list) => {
        setItems(list)
        setError('')
      })
      .catch((e: Error) => setError(e.message))
  }, [id])

  useEffect(load, [load])
  useEffect(() => {
    if (!items?.some((i) => i.status === 'pending') && Date.now() > until) return
    const t = setTimeout(load, POLL_MS)
    return () => clearTimeout(t)
  }, [items, until, load])

  const test = async () => {
    setError('')
    try {
      await api.sendTestEvent(id)
      setUntil(Date.now() + WATCH_MS)
      load()
    } catch (e) {
      setError((e as Error).message)
    }
  }

  return (
    <div className="subscription-log" data-testid="subscription-log">
      <button type="button" className="button small" onClick={test} data-testid="send-test">
        Send test event
      </button>
      {error && (
        <p className="alert bad" role="alert">
          {error}
        </p>
      )}
      {items && items.length === 0 && <p className="small muted">Nothing sent yet.</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="small muted">Deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-event={e.type} data-status={e.status}>
                  <td className="small">{new Date(e.createdAt * 1000).toLocaleString()}</td>
                  <td>
                    <span className="mono small">{e.type}</span>
                    {e.hash && (
                      <span className="block small">
                        <Link to={`/tx/${e.hash}`}>{e.hash.slice(0, 10)}…</Link>
                      </span>
                    )}
                  </td>
                  <td className="small">
                    {e.status === 'delivered' ? 'delivered' : e.status === 'failed' ? 'gave up' : 'pending'}
                    {e.attempts > 1 && ` after ${e.attempts} attempts`}
                    {e.log.length > 0 && e.log[e.log.length - 1].status ? ` (HTTP ${e.log[e.log.length - 1].status})` : ''}
                    {e.lastError && e.status !== 'delivered' && <span className="block muted">{e.lastError}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}
