import { useState } from 'react'
import { api } from '../lib/api'
import type { Sep7Link } from '../lib/types'

/**
 * "Sign on your phone": the SEP-7 link of a pending transaction, as a link and a QR code. A wallet app
 * that opens it signs and sends the signature straight back to this server. The QR code generator is
 * loaded only when asked for.
 */
export function SignOnPhone({ hash }: { hash: string }) {
  const [link, setLink] = useState<Sep7Link | null>(null)
  const [qr, setQr] = useState<string | null>(null)
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)

  const show = async () => {
    setBusy(true)
    setError('')
    try {
      const [found, { default: qrcode }] = await Promise.all([api.sep7Link(hash), import('qrcode-generator')])
      const code = qrcode(0, 'L')
      code.addData(found.uri)
      code.make()
      setQr(code.createDataURL(3, 4))
      setLink(found)
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="sign-on-phone" data-testid="sign-on-phone">
      {!link ? (
        <button type="button" className="button" onClick={show} disabled={busy}>
          {busy ? 'Preparing…' : 'Sign on your phone'}
        </button>
      ) : (
        <>
          <p className="small">
            Scan with a Stellar wallet app (SEP-7), or open the link on the phone that holds the key. The wallet sends the
            signature back here{link.signed ? `; the request is signed by ${link.originDomain}` : ''}.
          </p>
          {qr && <img className="qr" src={qr} alt="QR code of the signing link" data-testid="sep7-qr" />}
          <p>
            <a href={link.uri} className="button" data-testid="sep7-link">
              Open in a wallet app
            </a>
          </p>
        </>
      )}
      {error && (
        <p className="alert bad" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}
