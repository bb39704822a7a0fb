export function formatTime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—'
  const d = new Date(seconds * 1000)
  if (Number.isNaN(d.getTime())) return String(seconds)
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

/** "in 3 hours" / "5 minutes ago" relative to now. */
export function relativeTime(seconds: number, nowSeconds = Date.now() / 1000): string {
  const diff = Math.round(seconds - nowSeconds)
  const abs = Math.abs(diff)
  const units: [number, Intl.RelativeTimeFormatUnit][] = [
    [86400 * 365, 'year'],
    [86400 * 30, 'month'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ]
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
  for (const [size, unit] of units) {
    if (abs >= size || unit === 'second') return rtf.format(Math.trunc(diff / size), unit)
  }
  return ''
}

/** Value for <input type="datetime-local"> in the local time zone. */
export function toLocalInput(seconds: number): string {
  const d = new Date(seconds * 1000)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

export function fromLocalInput(value: string): number | null {
  if (!value) return null
  const t = new Date(value).getTime()
  return Number.isNaN(t) ? null : Math.floor(t / 1000)
}
