import { useRef } from 'react'

/** "Load from file" button: reads a small text file (an XDR export) and hands its content over. */
export function FileToText({ label, onText, id }: { label: string; onText: (text: string) => void; id: string }) {
  const input = useRef<HTMLInputElement>(null)
  return (
    <>
      <input
        ref={input}
        id={id}
        type="file"
        accept=".xdr,.txt,.b64,.base64,text/plain"
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        onChange={async (e) => {
          const file = e.target.files?.[0]
          if (file) onText((await file.text()).trim())
          e.target.value = ''
        }}
      />
      <button type="button" className="button small" onClick={() => input.current?.click()}>
        {label}
      </button>
    </>
  )
}
