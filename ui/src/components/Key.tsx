import { shortKey } from '../lib/strkey'

/** An account or signer key: shortened on screen, full in the title and for screen readers' copy. */
export function Key({ value, full = false }: { value: string; full?: boolean }) {
  if (full) return <code className="key">{value}</code>
  return (
    <code className="key" title={value}>
      <span aria-hidden="true">{shortKey(value, 6, 6)}</span>
      <span className="visually-hidden">{value}</span>
    </code>
  )
}
