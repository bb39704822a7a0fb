// Derived figures for the signing-progress panel, from the server's `progress` object.

import type { AccountProgress, Progress, SignerProgress, TxInfo } from './types'

export interface AccountView {
  account: string
  scope: string
  missing: boolean
  threshold: number
  weight: number
  satisfied: boolean
  /** weight still needed to reach the threshold (0 when satisfied) */
  remaining: number
  /** 0–100, for a progress bar */
  percent: number
  /** sum of all signers' weights: if below the threshold the account can never be satisfied */
  possible: number
  reachable: boolean
  signed: SignerProgress[]
  unsigned: SignerProgress[]
  levels: string[]
}

export function accountView(a: AccountProgress): AccountView {
  const signers = a.signers ?? []
  const threshold = Math.max(0, a.threshold ?? 0)
  const weight = Math.max(0, a.weight ?? 0)
  const possible = signers.reduce((sum, s) => sum + Math.max(0, s.weight), 0)
  const remaining = a.satisfied ? 0 : Math.max(0, threshold - weight)
  const percent = a.satisfied || threshold === 0 ? 100 : Math.min(100, Math.round((weight / threshold) * 100))
  const byWeight = (x: SignerProgress, y: SignerProgress) =>
    Number(!!y.desired) - Number(!!x.desired) || y.weight - x.weight || x.key.localeCompare(y.key)
  return {
    account: a.account,
    scope: a.scope,
    missing: !!a.missing,
    threshold,
    weight,
    satisfied: !!a.satisfied,
    remaining,
    percent,
    possible,
    reachable: a.satisfied || possible >= threshold,
    signed: signers.filter((s) => s.signed).sort(byWeight),
    unsigned: signers.filter((s) => !s.signed && s.weight > 0).sort(byWeight),
    levels: a.levels ?? [],
  }
}

export interface ProgressSummary {
  ready: boolean
  accounts: AccountView[]
  satisfiedCount: number
  /** desired signers who have not signed yet, across all accounts and extra signers */
  desiredPending: string[]
  /** signers who could still add weight somewhere (deduplicated) */
  pendingSigners: string[]
  extraSigners: { key: string; signed: boolean }[]
  warnings: string[]
}

export function summarizeProgress(progress: Progress | undefined, desired: string[] | null = null): ProgressSummary {
  const accounts = (progress?.accounts ?? []).map(accountView)
  const desiredSet = new Set(desired ?? [])
  const pending = new Set<string>()
  const signedKeys = new Set<string>()
  for (const a of progress?.accounts ?? []) {
    for (const s of a.signers ?? []) {
      if (s.desired) desiredSet.add(s.key)
      if (s.signed) signedKeys.add(s.key)
    }
  }
  for (const a of accounts) if (!a.satisfied) for (const s of a.unsigned) pending.add(s.key)
  for (const e of progress?.extraSigners ?? []) {
    if (e.signed) signedKeys.add(e.key)
    else pending.add(e.key)
  }
  return {
    ready: !!progress?.ready,
    accounts,
    satisfiedCount: accounts.filter((a) => a.satisfied).length,
    desiredPending: [...desiredSet].filter((k) => !signedKeys.has(k)),
    pendingSigners: [...pending],
    extraSigners: progress?.extraSigners ?? [],
    warnings: progress?.warnings ?? [],
  }
}

/** Whether a signer key is one of the desired signers (flag from the server, or the record's list). */
export function isDesired(signer: SignerProgress, tx: Pick<TxInfo, 'desiredSigners'>): boolean {
  return !!signer.desired || (tx.desiredSigners ?? []).includes(signer.key)
}

export function scopeLabel(scope: string): string {
  return scope === 'feeBump' ? 'Fee-bump fee account' : 'Transaction account'
}
