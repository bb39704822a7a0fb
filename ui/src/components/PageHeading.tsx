import { useEffect, useRef, type ReactNode } from 'react'
import { consumeNavigationFocus, usePageTitle } from '../router'

/** The page's h1. After client-side navigation it takes focus so assistive technology announces the new page. */
export function PageHeading({ title, children }: { title: string; children?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null)
  usePageTitle(title)
  useEffect(() => {
    if (consumeNavigationFocus()) ref.current?.focus({ preventScroll: true })
  }, [])
  return (
    <h1 ref={ref} tabIndex={-1} className="page-title">
      {children ?? title}
    </h1>
  )
}
