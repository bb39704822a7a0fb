import type { ReactNode } from 'react'
import { setSession, shortKey, useSession } from '../lib/session'
import { Link, useLocation } from '../router'

const NAV = [
  { to: '/tx/add', label: 'Upload' },
  { to: '/queue', label: 'My queue' },
  { to: '/api-docs', label: 'API' },
]

export function Layout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation()
  const session = useSession()
  const nav = session ? [...NAV.slice(0, 2), { to: '/notifications', label: 'Notifications' }, ...NAV.slice(2)] : NAV
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="wrap header-row">
          <Link to="/" className="brand" aria-label="Refractor home">
            <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
              <path d="M12 2 3 7v10l9 5 9-5V7z" fill="none" stroke="currentColor" strokeWidth="2" />
              <path d="M3 7l9 5 9-5M12 12v10" fill="none" stroke="currentColor" strokeWidth="2" />
            </svg>
            Refractor
          </Link>
          <nav aria-label="Main">
            <ul className="nav">
              {nav.map((n) => (
                <li key={n.to}>
                  <Link to={n.to} aria-current={pathname.startsWith(n.to) ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
              <li className="session" data-testid="session">
                {session ? (
                  <>
                    <span className="mono small" title={session.account}>
                      {shortKey(session.account)}
                    </span>{' '}
                    <button type="button" className="link-button" onClick={() => setSession(null)}>
                      Sign out
                    </button>
                  </>
                ) : (
                  <Link to="/signin" aria-current={pathname.startsWith('/signin') ? 'page' : undefined}>
                    Sign in
                  </Link>
                )}
              </li>
            </ul>
          </nav>
        </div>
      </header>
      <main id="main" className="wrap">
        {children}
      </main>
      <footer className="site-footer">
        <div className="wrap">
          Refractor collects signatures for Stellar multisig transactions and submits them when ready.{' '}
          <Link to="/api-docs">HTTP API</Link>
        </div>
      </footer>
    </>
  )
}
