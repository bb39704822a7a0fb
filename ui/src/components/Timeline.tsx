import { formatTime, isoTime } from '../lib/time'
import { buildTimeline } from '../lib/timeline'
import type { Delivery, TxInfo } from '../lib/types'

export function Timeline({ tx, deliveries }: { tx: TxInfo; deliveries: Delivery[] | null }) {
  const events = buildTimeline(tx, deliveries ?? [])
  return (
    <section className="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">History</h2>
      <ol className="timeline" data-testid="timeline">
        {events.map((e, i) => (
          <li key={i} className={`tl-${e.tone}`} data-kind={e.kind}>
            <span className="tl-dot" aria-hidden="true" />
            <div>
              <div className="tl-title">{e.title}</div>
              {e.at !== null && <time dateTime={isoTime(e.at)}>{formatTime(e.at)}</time>}
              {e.detail && <div className="tl-detail">{e.detail}</div>}
            </div>
          </li>
        ))}
      </ol>
      {tx.callback && deliveries === null && <p className="hint">A callback is registered; its delivery log is visible to the operator only.</p>}
    </section>
  )
}
