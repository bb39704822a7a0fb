// A wallet module for browser tests: it implements the Stellar Wallets Kit's ModuleInterface and signs
// with a local secret key taken from window.__REFRACTOR_TEST_WALLET__ (a secret seed string, or
// {secret, name}). It is loaded only when that global is set, so it exercises the exact path a real wallet
// takes after it returns the signed XDR.

import { Keypair, TransactionBuilder } from '@stellar/stellar-sdk/base'
import { ModuleType, type ModuleInterface } from '@creit.tech/stellar-wallets-kit/types'

export const TEST_WALLET_ID = 'refractor-test-wallet'

type TestWalletConfig = string | { secret: string; name?: string }

declare global {
  interface Window {
    __REFRACTOR_TEST_WALLET__?: TestWalletConfig
  }
}

function config(): { secret: string; name: string } {
  const c = window.__REFRACTOR_TEST_WALLET__
  if (!c) throw { code: -1, message: 'The test wallet is not configured.' }
  return typeof c === 'string' ? { secret: c, name: 'Test wallet' } : { secret: c.secret, name: c.name ?? 'Test wallet' }
}

const unsupported = (what: string) => Promise.reject({ code: -3, message: `The test wallet does not support ${what}.` })

export class TestWalletModule implements ModuleInterface {
  moduleType = ModuleType.HOT_WALLET
  productId = TEST_WALLET_ID
  productName = config().name
  productUrl = 'https://github.com/'
  productIcon = 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"%3E%3Crect width="16" height="16" rx="3" fill="%23555"/%3E%3C/svg%3E'

  async isAvailable(): Promise<boolean> {
    return !!window.__REFRACTOR_TEST_WALLET__
  }

  async getAddress(): Promise<{ address: string }> {
    return { address: Keypair.fromSecret(config().secret).publicKey() }
  }

  async signTransaction(
    xdr: string,
    opts?: { networkPassphrase?: string; address?: string; path?: string },
  ): Promise<{ signedTxXdr: string; signerAddress?: string }> {
    if (!opts?.networkPassphrase) throw { code: -1, message: 'A network passphrase is required.' }
    const keypair = Keypair.fromSecret(config().secret)
    const tx = TransactionBuilder.fromXDR(xdr, opts.networkPassphrase)
    tx.sign(keypair)
    return { signedTxXdr: tx.toEnvelope().toXDR('base64'), signerAddress: keypair.publicKey() }
  }

  signAuthEntry(): Promise<{ signedAuthEntry: string; signerAddress?: string }> {
    return unsupported('auth entries')
  }

  signMessage(): Promise<{ signedMessage: string; signerAddress?: string }> {
    return unsupported('messages')
  }

  async getNetwork(): Promise<{ network: string; networkPassphrase: string }> {
    return unsupported('network queries')
  }
}
