import { useEffect, useState, type FormEvent } from 'react'
import { Field } from '../components/Field'
import { FileToText } from '../components/FileToText'
import { PageHeading } from '../components/PageHeading'
import { ApiError, api, errorField } from '../lib/api'
import { useSession } from '../lib/session'
import { fromLocalInput, toLocalInput } from '../lib/time'
import type { NetworkInfo } from '../lib/types'
import { validateUpload, type FieldErrors, type UploadForm } from '../lib/validation'
import { navigate } from '../router'

const EMPTY: UploadForm = { network: '', xdr: '', submit: false, callbackUrl: '', expires: '', desiredSigners: '' }
const FIELDS = ['network', 'xdr', 'submit', 'callbackUrl', 'expires', 'desiredSigners'] as const

export default function UploadPage() {
  const session = useSession()
  const [privateRecord, setPrivateRecord] = useState(false)
  const [networks, setNetworks] = useState<NetworkInfo[] | null>(null)
  const [networksError, setNetworksError] = useState('')
  const [form, setForm] = useState<UploadForm>(EMPTY)
  const [errors, setErrors] = useState<FieldErrors>({})
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    api
      .networks()
      .then((list) => {
        setNetworks(list)
        if (list.length === 1) setForm((f) => ({ ...f, network: f.network || list[0].name }))
      })
      .catch((e: Error) => {
        setNetworks([])
        setNetworksError(`Could not load the list of networks: ${e.message}`)
      })
  }, [])

  const set = <K extends keyof UploadForm>(key: K, value: UploadForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }))
    setErrors((e) => ({ ...e, [key]: undefined, form: undefined }))
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const { errors: found, request } = validateUpload(form, (networks ?? []).map((n) => n.name))
    setErrors(found)
    if (!request) {
      focusFirstError()
      return
    }
    setBusy(true)
    try {
      const tx = await api.postTx(privateRecord ? { ...request, visibility: 'private' } : request)
      navigate(`/tx/${tx.hash}`)
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError(String(err), 0)
      const field = errorField(apiErr, FIELDS)
      setErrors(field ? { [field]: apiErr.message } : { form: apiErr.message })
      focusFirstError()
    } finally {
      setBusy(false)
    }
  }

  const expiresNum = /^\d+$/.test(form.expires.trim()) ? Number(form.expires) : null

  return (
    <section>
      <PageHeading title="Upload a transaction" />
      <p className="lead">
        Store a Stellar transaction so its co-signers can sign it. You get a link to share; Refractor tracks the
        signatures against the accounts’ thresholds.
      </p>
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        {errors.form && (
          <div className="alert bad" role="alert" data-field-error="form">
            {errors.form}
          </div>
        )}

        <Field id="network" label="Network" error={errors.network}>
          {(a) => (
            <select {...a} value={form.network} onChange={(e) => set('network', e.target.value)} disabled={networks === null}>
              <option value="">{networks === null ? 'Loading networks…' : 'Choose a network'}</option>
              {(networks ?? []).map((n) => (
                <option key={n.name} value={n.name}>
                  {n.name} — {n.passphrase}
                </option>
              ))}
            </select>
          )}
        </Field>
        {networksError && <p className="field-error">{networksError}</p>}

        <Field
          id="xdr"
          label="Transaction XDR"
          hint="The base64 transaction envelope, unsigned or partly signed (regular or fee-bump)."
          error={errors.xdr}
        >
          {(a) => (
            <>
              <textarea
                {...a}
                className="mono"
                rows={6}
                value={form.xdr}
                onChange={(e) => set('xdr', e.target.value)}
                spellCheck={false}
                autoComplete="off"
              />
              <div className="field-tools">
                <FileToText id="xdr-file" label="Load from file" onText={(t) => set('xdr', t)} />
              </div>
            </>
          )}
        </Field>

        <fieldset className="field visibility" data-testid="visibility">
          <legend>Who can see it</legend>
          <div className="checkbox">
            <input id="visibility-public" type="radio" name="visibility" checked={!privateRecord} onChange={() => setPrivateRecord(false)} />
            <label htmlFor="visibility-public">
              Public
              <span className="hint block">Anyone with the hash or the link, as with any Refractor server.</span>
            </label>
          </div>
          <div className="checkbox">
            <input id="visibility-private" type="radio" name="visibility" checked={privateRecord} onChange={() => setPrivateRecord(true)} />
            <label htmlFor="visibility-private">
              Private
              <span className="hint block">
                Only its source accounts, its possible signers{session ? ' and you' : ''}, once signed in with a wallet; co-signers can
                still add signatures through the link.
                {!session && ' Sign in first if you are not one of them, or you will not see it again.'}
              </span>
            </label>
          </div>
        </fieldset>

        <div className="field checkbox">
          <input id="submit" type="checkbox" checked={form.submit} onChange={(e) => set('submit', e.target.checked)} />
          <label htmlFor="submit">
            Submit to the network automatically once fully signed
            <span className="hint block">Otherwise anyone with the link can submit it with one click when it is ready.</span>
          </label>
        </div>

        <Field
          id="callbackUrl"
          label="Callback URL (optional)"
          hint="Refractor POSTs the fully signed transaction here."
          error={errors.callbackUrl}
        >
          {(a) => (
            <input
              {...a}
              type="url"
              inputMode="url"
              placeholder="https://example.com/refractor-hook"
              value={form.callbackUrl}
              onChange={(e) => set('callbackUrl', e.target.value)}
            />
          )}
        </Field>

        <fieldset className="field expires">
          <legend>Valid until (optional)</legend>
          <p className="hint" id="expires-hint">
            After this moment the transaction is no longer collected or submitted. Pick a date or type a UNIX time.
          </p>
          <div className="expires-row">
            <div>
              <label htmlFor="expires-date" className="sub-label">
                Date and time (your time zone)
              </label>
              <input
                id="expires-date"
                type="datetime-local"
                value={expiresNum !== null && expiresNum < 2 ** 31 ? toLocalInput(expiresNum) : ''}
                onChange={(e) => {
                  const t = fromLocalInput(e.target.value)
                  set('expires', t === null ? '' : String(t))
                }}
                aria-describedby="expires-hint"
              />
            </div>
            <div>
              <label htmlFor="expires" className="sub-label">
                UNIX time (seconds)
              </label>
              <input
                id="expires"
                inputMode="numeric"
                className="mono"
                value={form.expires}
                onChange={(e) => set('expires', e.target.value)}
                aria-invalid={!!errors.expires}
                aria-describedby={errors.expires ? 'expires-error expires-hint' : 'expires-hint'}
                placeholder="e.g. 1893456000"
              />
            </div>
          </div>
          {errors.expires && (
            <p id="expires-error" className="field-error" data-field-error="expires">
              {errors.expires}
            </p>
          )}
        </fieldset>

        <Field
          id="desiredSigners"
          label="Desired signers (optional)"
          hint="Account keys (G…) you want signatures from, one per line. They are highlighted on the transaction page."
          error={errors.desiredSigners}
        >
          {(a) => (
            <textarea
              {...a}
              className="mono"
              rows={3}
              value={form.desiredSigners}
              onChange={(e) => set('desiredSigners', e.target.value)}
              spellCheck={false}
              autoComplete="off"
            />
          )}
        </Field>

        <div className="actions">
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Uploading…' : 'Upload transaction'}
          </button>
        </div>
      </form>
    </section>
  )
}

function focusFirstError() {
  requestAnimationFrame(() => {
    const el = document.querySelector<HTMLElement>('[aria-invalid="true"], [data-field-error="form"]')
    el?.focus()
    el?.scrollIntoView({ block: 'center' })
  })
}
