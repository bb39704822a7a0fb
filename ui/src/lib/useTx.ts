// React state for one transaction: initial load, live updates (SSE or polling) and the callback log.

import { useCallback, useEffect, useState } from 'react'
import { ApiError, api } from './api'
import { apiUrl } from './config'
import { LiveTx, type LiveMode } from './liveTx'
import { isSettled } from './status'
import type { Delivery, TxInfo } from './types'

export interface TxState {
  tx: TxInfo | null
  error: ApiError | null
  deliveries: Delivery[] | null
  mode: LiveMode
  /** replace the record with a fresher one (e.g. the answer to POST /tx) */
  apply: (tx: TxInfo) => void
}

const DELIVERY_POLL_MS = 3000
const DELIVERY_WATCH_MS = 120_000

const newer = (a: TxInfo | null, b: TxInfo) => !a || (b.updatedAt ?? 0) >= (a.updatedAt ?? 0)

export function useTx(hash: string): TxState {
  const [tx, setTx] = useState<TxInfo | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null)
  const [mode, setMode] = useState<LiveMode>('connecting')

  const apply = useCallback((next: TxInfo) => {
    setTx((cur) => (newer(cur, next) ? next : cur))
    setError(null)
  }, [])

  useEffect(() => {
    const controller = new AbortController()
    let live: LiveTx | null = null
    api
      .getTx(hash, controller.signal)
      .then((t) => {
        apply(t)
        live = new LiveTx(
          hash,
          apiUrl(`/tx/${hash}/events`),
          {
            createEventSource: typeof EventSource === 'function' ? (url) => new EventSource(url) : null,
            fetchTx: (h) => api.getTx(h),
            isHidden: () => document.visibilityState === 'hidden',
            isDone: isSettled,
          },
          { onUpdate: apply, onMode: setMode },
        )
        live.start()
      })
      .catch((e) => {
        if ((e as Error)?.name === 'AbortError') return
        setError(e instanceof ApiError ? e : new ApiError(String(e), 0))
      })
    const onVisible = () => document.visibilityState === 'visible' && live?.wake()
    document.addEventListener('visibilitychange', onVisible)
    return () => {
      controller.abort()
      live?.stop()
      document.removeEventListener('visibilitychange', onVisible)
    }
  }, [hash, apply])

  // The callback log: fetched on every change of a record that has a callback, then re-checked every
  // few seconds while a delivery may still be under way (no successful attempt yet), for up to 2 minutes.
  // The log is the operator's (admin token): for everyone else the request fails and it stays hidden.
  useEffect(() => {
    if (!tx?.callback) return
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const until = Date.now() + DELIVERY_WATCH_MS
    const fetchLog = () => {
      api
        .deliveries(hash)
        .then((items) => {
          if (stopped) return
          setDeliveries(items)
          const delivered = items.some((d) => Number(d.status) >= 200 && Number(d.status) < 300)
          if (!delivered && tx.status !== 'pending' && Date.now() < until) timer = setTimeout(fetchLog, DELIVERY_POLL_MS)
        })
        .catch(() => undefined)
    }
    fetchLog()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [hash, tx?.callback, tx?.updatedAt, tx?.status])

  return { tx, error, deliveries, mode, apply }
}
