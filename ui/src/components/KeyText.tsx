import { Fragment } from 'react'
import { Key } from './Key'

const KEY_RE = /\b([GMTXPC][A-Z2-7]{55}(?:[A-Z2-7]{13,})?)\b/g

/** Plain text in which Stellar keys are shown shortened (full key on hover and for screen readers). */
export function KeyText({ text }: { text: string }) {
  const parts = text.split(KEY_RE)
  return (
    <>
      {parts.map((p, i) => (i % 2 === 1 ? <Key key={i} value={p} /> : <Fragment key={i}>{p}</Fragment>))}
    </>
  )
}
