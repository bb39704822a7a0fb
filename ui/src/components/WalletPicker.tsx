import { useState } from 'react'
import type { WalletChoice } from '../wallet/kit'

/**
 * A button that opens the list of wallets and reports the one picked. The wallet kit is imported only
 * when the list is opened, keeping it out of the page's initial JavaScript.
 */
export function WalletPicker({
  label,
  busyText,
  onPick,
  onError,
  testId,
}: {
  label: string
  busyText: string | null
  onPick: (w: WalletChoice) => void
  onError: (message: string) => void
  testId?: string
}) {
  const [wallets, setWallets] = useState<WalletChoice[] | null>(null)
  const [loading, setLoading] = useState(false)

  const open = async () => {
    setLoading(true)
    try {
      const { listWallets } = await import('../wallet/kit')
      setWallets(await listWallets())
    } catch (e) {
      onError(`The wallet list could not be loaded: ${(e as Error)?.message ?? e}`)
    } finally {
      setLoading(false)
    }
  }

  if (busyText) {
    return (
      <p role="status" className="alert info">
        {busyText}
      </p>
    )
  }
  if (!wallets) {
    return (
      <button type="button" className="button primary" onClick={open} disabled={loading} data-testid={testId}>
        {loading ? 'Looking for wallets…' : label}
      </button>
    )
  }
  const available = wallets.filter((w) => w.available)
  const others = wallets.filter((w) => !w.available)
  const pick = (w: WalletChoice) => {
    setWallets(null)
    onPick(w)
  }
  return (
    <div className="wallets">
      <p id="wallets-label" className="small">
        {available.length > 0 ? 'Choose your wallet:' : 'No wallet was detected in this browser.'}
      </p>
      <ul className="wallet-list" aria-labelledby="wallets-label">
        {available.map((w) => (
          <li key={w.id}>
            <button type="button" className="wallet" onClick={() => pick(w)} data-wallet={w.id}>
              <WalletIcon src={w.icon} name={w.name} />
              {w.name}
            </button>
          </li>
        ))}
      </ul>
      {others.length > 0 && (
        <details className="other-wallets">
          <summary>Other wallets ({others.length}, not installed)</summary>
          <ul className="wallet-list">
            {others.map((w) => (
              <li key={w.id}>
                <a className="wallet unavailable" href={w.url} target="_blank" rel="noopener noreferrer" data-wallet={w.id}>
                  <WalletIcon src={w.icon} name={w.name} />
                  {w.name} <span className="small muted">get it</span>
                </a>
              </li>
            ))}
          </ul>
        </details>
      )}
      <button type="button" className="button small" onClick={() => setWallets(null)}>
        Cancel
      </button>
    </div>
  )
}

/** The wallet's icon, or its initial when the icon cannot be loaded. */
function WalletIcon({ src, name }: { src: string; name: string }) {
  const [failed, setFailed] = useState(false)
  if (failed || !src) {
    return (
      <span className="wallet-initial" aria-hidden="true">
        {name.charAt(0)}
      </span>
    )
  }
  return <img src={src} alt="" width={24} height={24} loading="lazy" onError={() => setFailed(true)} />
}
