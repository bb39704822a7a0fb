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
  return (
    <div className="wallets">
      <p id="wallets-label" className="small">
        Choose your wallet:
      </p>
      <ul className="wallet-list" aria-labelledby="wallets-label">
        {wallets.map((w) => (
          <li key={w.id}>
            {w.available ? (
              <button
                type="button"
                className="wallet"
                onClick={() => {
                  setWallets(null)
                  onPick(w)
                }}
                data-wallet={w.id}
              >
                <img src={w.icon} alt="" width={24} height={24} loading="lazy" />
                {w.name}
              </button>
            ) : (
              <a className="wallet unavailable" href={w.url} target="_blank" rel="noopener noreferrer" data-wallet={w.id}>
                <img src={w.icon} alt="" width={24} height={24} loading="lazy" />
                {w.name} <span className="small muted">not installed</span>
              </a>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="button small" onClick={() => setWallets(null)}>
        Cancel
      </button>
    </div>
  )
}
