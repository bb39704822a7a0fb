import { scopeLabel, summarizeProgress, type AccountView } from '../lib/progress'
import type { SignerProgress, TxInfo } from '../lib/types'
import { Key } from './Key'

function SignerRow({ s, desired }: { s: SignerProgress; desired: boolean }) {
  return (
    <li className={`signer${s.signed ? ' signed' : ''}${desired ? ' desired' : ''}`} data-signer={s.key} data-signed={s.signed}>
      <span className="signer-mark" aria-hidden="true">
        {s.signed ? '✓' : '○'}
      </span>
      <Key value={s.key} />
      <span className="signer-weight">weight {s.weight}</span>
      {desired && <span className="tag">desired</span>}
      {s.type && s.type !== 'ed25519' && <span className="tag muted">{s.type.replace(/_/g, ' ')}</span>}
      <span className="visually-hidden">{s.signed ? 'has signed' : 'has not signed'}</span>
    </li>
  )
}

function AccountCard({ a, desired }: { a: AccountView; desired: Set<string> }) {
  const isDesired = (s: SignerProgress) => !!s.desired || desired.has(s.key)
  return (
    <div className={`account${a.satisfied ? ' satisfied' : ''}`} data-account={a.account}>
      <div className="account-head">
        <div>
          <div className="muted small">{scopeLabel(a.scope)}</div>
          <Key value={a.account} full />
        </div>
        <div className={`account-state ${a.satisfied ? 'ok' : 'wait'}`}>
          {a.satisfied ? 'Threshold met' : `${a.remaining} more weight needed`}
        </div>
      </div>
      <div
        className="meter"
        role="meter"
        aria-valuemin={0}
        aria-valuemax={a.threshold}
        aria-valuenow={Math.min(a.weight, a.threshold)}
        aria-label={`Signed weight for ${a.account}`}
        aria-valuetext={`${a.weight} of ${a.threshold} needed`}
      >
        <span style={{ width: `${a.percent}%` }} />
      </div>
      <p className="small">
        Signed weight <strong data-testid="weight">{a.weight}</strong> of threshold{' '}
        <strong data-testid="threshold">{a.threshold}</strong>
        {a.levels.length > 0 && <span className="muted"> ({a.levels.join(' + ')} threshold)</span>}
        {a.missing && <span className="muted"> · account not on the ledger yet (its own key, weight 1)</span>}
      </p>
      {!a.reachable && (
        <p className="alert bad small">
          All signers together have weight {a.possible}: this threshold cannot be reached.
        </p>
      )}
      {a.signed.length > 0 && (
        <>
          <h4>Signed</h4>
          <ul className="signers">
            {a.signed.map((s) => (
              <SignerRow key={s.key} s={s} desired={isDesired(s)} />
            ))}
          </ul>
        </>
      )}
      {a.unsigned.length > 0 && !a.satisfied && (
        <>
          <h4>Not signed yet</h4>
          <ul className="signers">
            {a.unsigned.map((s) => (
              <SignerRow key={s.key} s={s} desired={isDesired(s)} />
            ))}
          </ul>
        </>
      )}
    </div>
  )
}

export function ProgressPanel({ tx }: { tx: TxInfo }) {
  const p = summarizeProgress(tx.progress, tx.desiredSigners)
  const desired = new Set(tx.desiredSigners ?? [])
  return (
    <section className="card" aria-labelledby="progress-title" data-testid="progress">
      <h2 id="progress-title">Signatures</h2>
      {!tx.progress ? (
        <p className="muted">Signing progress is not available for this record.</p>
      ) : (
        <>
          <p aria-live="polite" className="progress-summary">
            {p.ready
              ? 'Fully signed: every account’s threshold is met.'
              : `${p.satisfiedCount} of ${p.accounts.length} account${p.accounts.length === 1 ? '' : 's'} ready · ${tx.signatures.length} signature${tx.signatures.length === 1 ? '' : 's'} collected`}
          </p>
          {p.desiredPending.length > 0 && tx.status === 'pending' && (
            <p className="desired-pending">
              Waiting for desired signer{p.desiredPending.length === 1 ? '' : 's'}:{' '}
              {p.desiredPending.map((k, i) => (
                <span key={k}>
                  {i > 0 && ', '}
                  <Key value={k} />
                </span>
              ))}
            </p>
          )}
          {p.warnings.map((w) => (
            <p key={w} className="alert warn small">
              {w}
            </p>
          ))}
          {p.accounts.map((a) => (
            <AccountCard key={`${a.scope}:${a.account}`} a={a} desired={desired} />
          ))}
          {p.extraSigners.length > 0 && (
            <div className="account">
              <div className="muted small">Extra signers required by the preconditions</div>
              <ul className="signers">
                {p.extraSigners.map((s) => (
                  <SignerRow key={s.key} s={{ key: s.key, weight: 1, signed: s.signed }} desired={desired.has(s.key)} />
                ))}
              </ul>
            </div>
          )}
        </>
      )}
    </section>
  )
}
