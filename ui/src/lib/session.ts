// The signed-in account (SEP-10): its JWT, kept in localStorage so a reload stays signed in, and
// dropped when it expires or the server refuses it. React reads it through useSession().

import { useSyncExternalStore } from 'react'

export interface Session {
  account: string
  token: string
  /** UNIX seconds, from the token's `exp` */
  expires: number
}

const KEY = 'refractor.session'
const listeners = new Set<() => void>()
let current: Session | null = null
let loaded = false

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null // storage disabled: the session lives in memory only
  }
}

/** The `exp` and `sub` claims of a JWT (not verified here: the server does that). */
export function readToken(token: string): { account: string; expires: number } | null {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown; exp?: unknown }
    if (typeof json.sub !== 'string' || typeof json.exp !== 'number') return null
    return { account: json.sub, expires: json.exp }
  } catch {
    return null
  }
}

function load(): Session | null {
  if (!loaded) {
    loaded = true
    try {
      const raw = storage()?.getItem(KEY)
      const parsed = raw ? (JSON.parse(raw) as Session) : null
      current = parsed && typeof parsed.token === 'string' && typeof parsed.account === 'string' ? parsed : null
    } catch {
      current = null
    }
  }
  if (current && current.expires * 1000 <= Date.now()) setSession(null)
  return current
}

export function getSession(): Session | null {
  return load()
}

export function setSession(session: Session | null): void {
  current = session
  loaded = true
  try {
    if (session) storage()?.setItem(KEY, JSON.stringify(session))
    else storage()?.removeItem(KEY)
  } catch {
    // storage full or disabled: keep it in memory
  }
  for (const fn of listeners) fn()
}

/** Signs in with a token from POST /auth. */
export function startSession(token: string): Session {
  const claims = readToken(token)
  if (!claims) throw new Error('The server sent an unreadable token.')
  const session = { token, ...claims }
  setSession(session)
  return session
}

function subscribe(fn: () => void): () => void {
  listeners.add(fn)
  const onStorage = (e: StorageEvent) => {
    if (e.key !== KEY) return
    loaded = false // another tab signed in or out
    fn()
  }
  window.addEventListener('storage', onStorage)
  return () => {
    listeners.delete(fn)
    window.removeEventListener('storage', onStorage)
  }
}

export function useSession(): Session | null {
  return useSyncExternalStore(subscribe, load, () => null)
}

export function shortKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 4)}…${key.slice(-4)}` : key
}
