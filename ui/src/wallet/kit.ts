// Wallet access through Stellar Wallets Kit. Everything here is loaded on demand (dynamic import) when the
// user asks to sign, so the kit and the wallets' libraries never weigh on the first page load.

import { TEST_WALLET_BUILT_IN, WALLETCONNECT_PROJECT_ID } from '../lib/config'

export interface WalletChoice {
  id: string
  name: string
  icon: string
  url: string
  available: boolean
}

type Kit = typeof import('@creit.tech/stellar-wallets-kit/sdk').StellarWalletsKit

let kitPromise: Promise<Kit> | null = null

async function createKit(): Promise<Kit> {
  const [{ StellarWalletsKit }, { defaultModules }] = await Promise.all([
    import('@creit.tech/stellar-wallets-kit/sdk'),
    import('@creit.tech/stellar-wallets-kit/modules/utils'),
  ])
  const modules = defaultModules()
  if (WALLETCONNECT_PROJECT_ID) {
    try {
      const { WalletConnectModule } = await import('@creit.tech/stellar-wallets-kit/modules/wallet-connect')
      modules.push(
        new WalletConnectModule({
          projectId: WALLETCONNECT_PROJECT_ID,
          metadata: {
            name: 'Refractor',
            description: 'Stellar multisig coordinator',
            url: window.location.origin,
            icons: [`${window.location.origin}/favicon.svg`],
          },
        } as ConstructorParameters<typeof WalletConnectModule>[0]),
      )
    } catch (e) {
      console.warn('WalletConnect could not be loaded', e)
    }
  }
  if (TEST_WALLET_BUILT_IN && window.__REFRACTOR_TEST_WALLET__) {
    const { TestWalletModule } = await import('./testWallet')
    modules.unshift(new TestWalletModule())
  }
  StellarWalletsKit.init({ modules })
  return StellarWalletsKit
}

function loadKit(): Promise<Kit> {
  kitPromise ??= createKit().catch((e) => {
    kitPromise = null
    throw e
  })
  return kitPromise
}

export async function listWallets(): Promise<WalletChoice[]> {
  const kit = await loadKit()
  const wallets = await kit.refreshSupportedWallets()
  return wallets
    .map((w) => ({ id: w.id, name: w.name, icon: w.icon, url: w.url, available: w.isAvailable }))
    .sort((a, b) => Number(b.available) - Number(a.available))
}

/** Asks the wallet for its address (connects it). */
export async function connectWallet(id: string): Promise<string> {
  const kit = await loadKit()
  kit.setWallet(id)
  const { address } = await kit.fetchAddress()
  return address
}

/** Has the chosen wallet sign the envelope; returns the signed envelope XDR and the signer's address. */
export async function signWithWallet(
  id: string,
  xdr: string,
  networkPassphrase: string,
): Promise<{ signedXdr: string; address: string }> {
  const kit = await loadKit()
  kit.setWallet(id)
  const { address } = await kit.fetchAddress()
  const { signedTxXdr, signerAddress } = await kit.signTransaction(xdr, { networkPassphrase, address })
  if (!signedTxXdr) throw new Error('The wallet did not return a signed transaction.')
  return { signedXdr: signedTxXdr, address: signerAddress ?? address }
}

/** Human-readable message from the kit's {code, message} errors or anything else thrown by a wallet. */
export function walletErrorMessage(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') {
    return (e as { message: string }).message
  }
  return typeof e === 'string' ? e : 'The wallet reported an error.'
}
