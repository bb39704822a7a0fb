import { api } from './api'
import type { NetworkInfo } from './types'

const KNOWN: Record<string, string> = {
  public: 'Public Global Stellar Network ; September 2015',
  testnet: 'Test SDF Network ; September 2015',
  futurenet: 'Test SDF Future Network ; October 2022',
}

let cache: Promise<NetworkInfo[]> | null = null

export function loadNetworks(): Promise<NetworkInfo[]> {
  cache ??= api.networks().catch((e) => {
    cache = null
    throw e
  })
  return cache
}

/** The passphrase wallets need to sign for the record's network. */
export async function passphraseFor(network: string): Promise<string> {
  try {
    const list = await loadNetworks()
    const n = list.find((x) => x.name === network || (x.aliases ?? []).includes(network))
    if (n) return n.passphrase
  } catch {
    // fall through to the well-known names
  }
  const p = KNOWN[network.toLowerCase()]
  if (!p) throw new Error(`Unknown network "${network}".`)
  return p
}
