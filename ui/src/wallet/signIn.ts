// "Sign in with your wallet" (SEP-10): the server's challenge is signed by the wallet like any
// transaction and exchanged for a token. Loaded on demand with the wallet kit.

import { api } from '../lib/api'
import { loadNetworks } from '../lib/networks'
import { startSession, type Session } from '../lib/session'
import { connectWallet, signWithWallet } from './kit'

/** The network whose signers vouch for the account: public when the server serves it, else its first. */
export async function signInNetwork(): Promise<string> {
  const list = await loadNetworks()
  if (list.some((n) => n.name === 'public')) return 'public'
  if (!list.length) throw new Error('The server serves no network.')
  return list[0].name
}

export async function signIn(walletId: string, onStep: (text: string) => void): Promise<Session> {
  const account = await connectWallet(walletId)
  onStep('Preparing the sign-in challenge…')
  const challenge = await api.authChallenge(account, await signInNetwork())
  onStep('Confirm the sign-in in your wallet (it signs a challenge, nothing is sent to the network).')
  const { signedXdr } = await signWithWallet(walletId, challenge.transaction, challenge.network_passphrase)
  onStep('Checking the signature…')
  const { token } = await api.authToken(signedXdr)
  return startSession(token)
}
