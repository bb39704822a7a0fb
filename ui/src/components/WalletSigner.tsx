import { useState } from 'react'
import type { WalletChoice } from '../wallet/kit'
import { WalletPicker } from './WalletPicker'

/** "Sign with a wallet": the wallet signs the envelope, and the signed XDR goes through onSigned (POST /tx). */
export function WalletSigner({
  onSigned,
  onError,
  xdr,
  network,
}: {
  xdr: string
  network: string
  onSigned: (signedXdr: string, wallet: string) => Promise<void>
  onError: (message: string) => void
}) {
  const [busy, setBusy] = useState<string | null>(null)

  const sign = async (w: WalletChoice) => {
    setBusy(`Waiting for ${w.name}: confirm the signature in your wallet.`)
    try {
      const [{ signWithWallet }, { passphraseFor }] = await Promise.all([import('../wallet/kit'), import('../lib/networks')])
      const { signedXdr } = await signWithWallet(w.id, xdr, await passphraseFor(network))
      setBusy('Sending the signature…')
      await onSigned(signedXdr, w.name)
    } catch (e) {
      const { walletErrorMessage } = await import('../wallet/kit')
      onError(`${w.name}: ${walletErrorMessage(e)}`)
    } finally {
      setBusy(null)
    }
  }

  return <WalletPicker label="Sign with a wallet" busyText={busy} onPick={sign} onError={onError} testId="connect-wallet" />
}
