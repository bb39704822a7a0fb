import { DetailsPanel } from '../components/DetailsPanel'
import { FailurePanel } from '../components/FailurePanel'
import { OperationsList } from '../components/OperationsList'
import { PageHeading } from '../components/PageHeading'
import { ProgressPanel } from '../components/ProgressPanel'
import { SignPanel } from '../components/SignPanel'
import { SourceQueue } from '../components/SourceQueue'
import { StatusBadge } from '../components/StatusBadge'
import { Timeline } from '../components/Timeline'
import { ShareLink, XdrPanel } from '../components/XdrPanel'
import type { LiveMode } from '../lib/liveTx'
import { useTx } from '../lib/useTx'
import { Link } from '../router'

const MODE_TEXT: Record<LiveMode, string> = {
  connecting: 'connecting…',
  live: 'live',
  polling: 'refreshing every 4 s',
  stopped: '',
}

export default function TxPage({ hash }: { hash: string }) {
  const { tx, error, deliveries, mode, apply } = useTx(hash)

  if (error) {
    return (
      <section>
        <PageHeading title={error.status === 404 ? 'Transaction not found' : 'Could not load the transaction'} />
        <p className="alert bad" role="alert">
          {error.message}
        </p>
        <p className="mono break small">{hash}</p>
        <p>
          <Link to="/tx/add">Upload a transaction</Link> · <Link to="/">Start page</Link>
        </p>
      </section>
    )
  }

  return (
    <section className="tx-page" aria-busy={!tx}>
      <div className="tx-head">
        <PageHeading title={`Transaction ${hash.slice(0, 8)}…`}>Transaction</PageHeading>
        <p className="mono break hash" data-testid="hash">
          {hash}
        </p>
        <div className="status-row" data-testid="status">
          {tx ? <StatusBadge tx={tx} /> : <span className="badge tone-wait">Loading…</span>}
          {tx && <span className="muted small">on {tx.network}</span>}
          {tx?.visibility === 'private' && (
            <span className="badge tone-wait" data-testid="private" title="Visible only to its accounts, its signers and who uploaded it">
              Private
            </span>
          )}
          {tx && mode !== 'stopped' && (
            <span className={`live-dot mode-${mode}`} data-mode={mode}>
              {MODE_TEXT[mode]}
            </span>
          )}
        </div>
        <ShareLink hash={hash} />
      </div>
      {tx ? (
        <div className="tx-grid">
          <div className="tx-main">
            <FailurePanel tx={tx} />
            {tx.status !== 'failed' && <SignPanel tx={tx} onUpdate={apply} />}
            <ProgressPanel tx={tx} />
            {tx.summary?.source && tx.status !== 'processed' && tx.status !== 'failed' && (
              <SourceQueue source={tx.summary.source} network={tx.network} current={tx.hash} refresh={tx.updatedAt} />
            )}
            <OperationsList tx={tx} />
            <DetailsPanel tx={tx} />
          </div>
          <div className="tx-side">
            <Timeline tx={tx} deliveries={deliveries} />
            <XdrPanel tx={tx} />
          </div>
        </div>
      ) : (
        <div className="tx-grid placeholder" aria-hidden="true">
          <div className="tx-main">
            <div className="card skeleton" style={{ height: 220 }} />
            <div className="card skeleton" style={{ height: 320 }} />
          </div>
          <div className="tx-side">
            <div className="card skeleton" style={{ height: 260 }} />
          </div>
        </div>
      )}
    </section>
  )
}
