#!/usr/bin/env node
// Gzipped JavaScript per route of the built UI (ui/dist), from Vite's manifest.
// A route's initial JavaScript = the entry chunk + the route's page chunk + their static imports.
// The wallet kit is loaded only when a wallet is chosen and is reported separately.
// Exits 1 when a route exceeds the budget (default 200 kB gzipped; BUDGET_KB to override).
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const budgetKb = Number(process.env.BUDGET_KB ?? 200)
const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'))
const json = process.argv.includes('--json')

const sizeCache = new Map()
function gz(file) {
  if (!sizeCache.has(file)) {
    const raw = readFileSync(join(dist, file))
    sizeCache.set(file, { raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length })
  }
  return sizeCache.get(file)
}

/** Files loaded by a chunk through static imports (the chunk included). */
function closure(key, seen = new Set()) {
  const chunk = manifest[key]
  if (!chunk || seen.has(chunk.file)) return seen
  seen.add(chunk.file)
  for (const imp of chunk.imports ?? []) closure(imp, seen)
  return seen
}

function total(files) {
  let raw = 0
  let gzip = 0
  for (const f of files) {
    if (!f.endsWith('.js')) continue
    const s = gz(f)
    raw += s.raw
    gzip += s.gzip
  }
  return { raw, gzip }
}

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry)
const entryFiles = closure(entryKey)
const css = (manifest[entryKey].css ?? []).reduce((n, f) => n + gz(f).gzip, 0)

const pages = {
  '/ (home)': null,
  '/tx/add': 'src/pages/UploadPage.tsx',
  '/tx/{hash} (before a wallet is chosen)': 'src/pages/TxPage.tsx',
  '/queue': 'src/pages/QueuePage.tsx',
  '/api-docs': 'src/pages/ApiDocsPage.tsx',
}
const rows = []
for (const [route, key] of Object.entries(pages)) {
  const files = new Set(entryFiles)
  if (key) closure(key, files)
  rows.push({ route, ...total(files) })
}

// On demand: the wallet kit (all wallet modules) and the test wallet module.
const kitKeys = Object.keys(manifest).filter((k) => k.includes('stellar-wallets-kit') && manifest[k].isDynamicEntry)
const kitFiles = new Set()
for (const k of kitKeys) closure(k, kitFiles)
for (const f of entryFiles) kitFiles.delete(f)
const testWalletKey = Object.keys(manifest).find((k) => k.endsWith('wallet/testWallet.ts'))
const testFiles = testWalletKey ? closure(testWalletKey) : new Set()
for (const f of [...entryFiles, ...kitFiles]) testFiles.delete(f)

const kb = (n) => `${(n / 1024).toFixed(1)} kB`
const report = {
  budgetKb,
  cssGzip: css,
  routes: rows,
  walletKit: total(kitFiles),
  testWallet: total(testFiles),
}
if (json) {
  console.log(JSON.stringify(report, null, 2))
} else {
  console.log(`UI JavaScript per route (gzip -9), budget ${budgetKb} kB before a wallet is chosen:`)
  for (const r of rows) console.log(`  ${r.route.padEnd(42)} ${kb(r.gzip).padStart(9)}   (${kb(r.raw)} raw)`)
  console.log(`  ${'CSS (all routes)'.padEnd(42)} ${kb(css).padStart(9)}`)
  console.log(`  ${'wallet kit, loaded on "Sign with a wallet"'.padEnd(42)} ${kb(report.walletKit.gzip).padStart(9)}   (${kb(report.walletKit.raw)} raw)`)
  if (testWalletKey) console.log(`  ${'test wallet module (tests only)'.padEnd(42)} ${kb(report.testWallet.gzip).padStart(9)}`)
}
const over = rows.filter((r) => r.gzip > budgetKb * 1024)
if (over.length) {
  console.error(`Over budget: ${over.map((r) => r.route).join(', ')}`)
  process.exit(1)
}
