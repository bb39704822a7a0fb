// A small client-side router over the History API: real URLs, back/forward, and focus moved to the
// new page's heading for screen-reader and keyboard users.

import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react'

const listeners = new Set<() => void>()
let pendingFocus = false

/** True once after each client-side navigation: the new page's heading should take focus. */
export function consumeNavigationFocus(): boolean {
  const v = pendingFocus
  pendingFocus = false
  return v
}

if (typeof window !== 'undefined') window.addEventListener('popstate', () => (pendingFocus = true))

function subscribe(fn: () => void): () => void {
  listeners.add(fn)
  window.addEventListener('popstate', fn)
  return () => {
    listeners.delete(fn)
    window.removeEventListener('popstate', fn)
  }
}

const getHref = () => window.location.pathname + window.location.search + window.location.hash

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === getHref()) return
  if (opts.replace) window.history.replaceState(null, '', to)
  else window.history.pushState(null, '', to)
  window.scrollTo(0, 0)
  pendingFocus = true
  for (const fn of listeners) fn()
}

export function useLocation(): { pathname: string; search: URLSearchParams; href: string } {
  const href = useSyncExternalStore(subscribe, getHref, getHref)
  const url = new URL(href, 'http://x')
  return { pathname: url.pathname, search: url.searchParams, href }
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }

export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e)
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    if (rest.target && rest.target !== '_self') return
    e.preventDefault()
    navigate(to)
  }
  return <a href={to} onClick={handle} {...rest} />
}

/** Sets the document title and moves focus to the page heading after client-side navigation. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Refractor` : 'Refractor'
  }, [title])
}
