// Stellar StrKey (SEP-23): base32 of [version byte | payload | CRC16-XModem checksum (little endian)].

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export const VERSION = {
  ed25519PublicKey: 6 << 3, // G
  ed25519SecretSeed: 18 << 3, // S
  med25519PublicKey: 12 << 3, // M
  preAuthTx: 19 << 3, // T
  sha256Hash: 23 << 3, // X
  signedPayload: 15 << 3, // P
  contract: 2 << 3, // C
} as const

export type StrKeyKind = keyof typeof VERSION

export function crc16xmodem(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1
      crc &= 0xffff
    }
  }
  return crc
}

export function base32Decode(text: string): Uint8Array | null {
  const out: number[] = []
  let buffer = 0
  let bits = 0
  for (const ch of text) {
    const value = ALPHABET.indexOf(ch)
    if (value < 0) return null
    buffer = (buffer << 5) | value
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((buffer >> bits) & 0xff)
    }
  }
  // Leftover bits must be zero padding (canonical encoding only).
  if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) return null
  return Uint8Array.from(out)
}

export function base32Encode(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += ALPHABET[(buffer >> bits) & 31]
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31]
  return out
}

/** Decodes a StrKey of the given kind; returns its payload or null when invalid. */
export function decodeStrKey(kind: StrKeyKind, key: string): Uint8Array | null {
  if (typeof key !== 'string' || key.length === 0) return null
  const raw = base32Decode(key)
  if (!raw || raw.length < 3) return null
  if (raw[0] !== VERSION[kind]) return null
  const body = raw.subarray(0, raw.length - 2)
  const checksum = raw[raw.length - 2] | (raw[raw.length - 1] << 8)
  if (crc16xmodem(body) !== checksum) return null
  const payload = raw.slice(1, raw.length - 2)
  const expected = kind === 'med25519PublicKey' ? 40 : kind === 'signedPayload' ? -1 : 32
  if (expected > 0 && payload.length !== expected) return null
  if (expected < 0 && (payload.length < 40 || payload.length > 100)) return null
  return payload
}

export function encodeStrKey(kind: StrKeyKind, payload: Uint8Array): string {
  const body = new Uint8Array(payload.length + 1)
  body[0] = VERSION[kind]
  body.set(payload, 1)
  const crc = crc16xmodem(body)
  const full = new Uint8Array(body.length + 2)
  full.set(body)
  full[body.length] = crc & 0xff
  full[body.length + 1] = crc >> 8
  return base32Encode(full)
}

/** True for a valid account public key (G..., 56 characters, checksum verified). */
export function isAccountId(key: string): boolean {
  return typeof key === 'string' && key.length === 56 && key[0] === 'G' && decodeStrKey('ed25519PublicKey', key) !== null
}

/** Shortened display form: GABC…WXYZ. */
export function shortKey(key: string, head = 4, tail = 4): string {
  return key.length > head + tail + 1 ? `${key.slice(0, head)}…${key.slice(-tail)}` : key
}
