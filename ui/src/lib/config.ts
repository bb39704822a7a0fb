// Build-time configuration, injected by vite.config.ts.

/** API origin without a trailing slash; '' means same origin. */
export const API_ORIGIN: string = typeof __API_ORIGIN__ === 'string' ? __API_ORIGIN__ : ''

export const WALLETCONNECT_PROJECT_ID: string =
  typeof __WALLETCONNECT_PROJECT_ID__ === 'string' ? __WALLETCONNECT_PROJECT_ID__ : ''

export const TEST_WALLET_BUILT_IN: boolean = typeof __TEST_WALLET__ === 'boolean' ? __TEST_WALLET__ : true

export function apiUrl(path: string): string {
  return `${API_ORIGIN}${path.startsWith('/') ? path : `/${path}`}`
}
