import { useCallback, useEffect, useState } from 'react'
import type { TxInfo, TxPage } from './types'

/** Cursor pagination: first page on change of `key`, then "load more" with the `next` cursor. */
export function usePagedList(key: string | null, fetchPage: (cursor: string | null) => Promise<TxPage>) {
  const [items, setItems] = useState<TxInfo[]>([])
  const [next, setNext] = useState<string | null>(null)
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState('')

  const load = useCallback(
    async (cursor: string | null) => {
      setLoading(true)
      setError('')
      try {
        const page = await fetchPage(cursor)
        setItems((cur) => (cursor ? [...cur, ...page.items] : page.items))
        setNext(page.next ?? null)
      } catch (e) {
        setError((e as Error).message)
      } finally {
        setLoading(false)
      }
    },
    [key],
  )

  useEffect(() => {
    setItems([])
    setNext(null)
    if (key) void load(null)
  }, [key, load])

  return { items, next, loading, error, loadMore: () => next && load(next) }
}
