import { lazy, Suspense } from 'react'
import { Layout } from './components/Layout'
import { HomePage } from './pages/HomePage'
import { NotFoundPage } from './pages/NotFoundPage'
import { useLocation } from './router'

// Every page but the home page is its own chunk: the first visit downloads only what it shows.
const UploadPage = lazy(() => import('./pages/UploadPage'))
const TxPage = lazy(() => import('./pages/TxPage'))
const QueuePage = lazy(() => import('./pages/QueuePage'))
const ApiDocsPage = lazy(() => import('./pages/ApiDocsPage'))
const SignInPage = lazy(() => import('./pages/SignInPage'))
const NotificationsPage = lazy(() => import('./pages/NotificationsPage'))

const HASH_ROUTE = /^\/tx\/([0-9a-fA-F]{64})\/?$/

function Route({ pathname }: { pathname: string }) {
  if (pathname === '/' || pathname === '/index.html') return <HomePage />
  if (pathname === '/tx/add' || pathname === '/tx/add/') return <UploadPage />
  const m = HASH_ROUTE.exec(pathname)
  if (m) return <TxPage key={m[1].toLowerCase()} hash={m[1].toLowerCase()} />
  if (pathname === '/queue' || pathname === '/queue/') return <QueuePage />
  if (pathname === '/api-docs' || pathname === '/api-docs/') return <ApiDocsPage />
  if (pathname === '/signin' || pathname === '/signin/') return <SignInPage />
  if (pathname === '/notifications' || pathname === '/notifications/') return <NotificationsPage />
  return <NotFoundPage />
}

export function App() {
  const { pathname } = useLocation()
  return (
    <Layout>
      <Suspense fallback={<p className="loading" role="status">Loading…</p>}>
        <Route pathname={pathname} />
      </Suspense>
    </Layout>
  )
}
