declare const __API_ORIGIN__: string
declare const __WALLETCONNECT_PROJECT_ID__: string
declare const __TEST_WALLET__: boolean
