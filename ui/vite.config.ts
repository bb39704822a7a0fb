/// <reference types="vitest/config" />
import { defineConfig } from 'vite'

// Build-time configuration (environment variables):
//   API_ORIGIN                 origin of the Refractor API, e.g. https://api.example.org (default: same origin)
//   WALLETCONNECT_PROJECT_ID   enables the WalletConnect wallet (a WalletConnect Cloud project id)
//   UI_TEST_WALLET=0           leaves the test wallet module out of the build
const env = process.env

export default defineConfig({
  base: '/',
  define: {
    __API_ORIGIN__: JSON.stringify((env.API_ORIGIN ?? '').replace(/\/+$/, '')),
    __WALLETCONNECT_PROJECT_ID__: JSON.stringify(env.WALLETCONNECT_PROJECT_ID ?? ''),
    __TEST_WALLET__: JSON.stringify(env.UI_TEST_WALLET !== '0'),
  },
  esbuild: { jsx: 'automatic' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      onwarn(warning, warn) {
        // Some wallet libraries carry /*#__PURE__*/ comments Rollup cannot place; harmless.
        if (warning.code === 'INVALID_ANNOTATION') return
        warn(warning)
      },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
})
