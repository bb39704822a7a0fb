// Shapes of the Refractor HTTP API (see docs/api.md).

export type TxStatus = 'pending' | 'ready' | 'processing' | 'processed' | 'failed'

export interface SignatureInfo {
  key: string
  signature: string
  addedAt?: number
}

export interface SignerProgress {
  key: string
  type?: string
  weight: number
  signed: boolean
  desired?: boolean
}

export interface AccountProgress {
  account: string
  scope: 'transaction' | 'feeBump' | string
  missing?: boolean
  levels?: string[]
  threshold: number
  weight: number
  satisfied: boolean
  signers: SignerProgress[]
}

export interface Progress {
  ready: boolean
  accounts: AccountProgress[]
  extraSigners?: { key: string; signed: boolean }[]
  warnings?: string[]
}

export interface OperationSummary {
  type: string
  source?: string | null
  /** threshold level the operation needs: low, medium or high */
  threshold?: string
  description: string
}

export interface TxSummary {
  source?: string
  fee?: string | number
  sequence?: string | number
  memo?: unknown
  operations?: OperationSummary[]
  preconditions?: Record<string, unknown> | null
}

export interface TxResult {
  ledger?: number | null
  successful?: boolean
  transactionCode?: string | null
  operationCodes?: (string | null)[] | null
  resultXdr?: string | null
}

/** Why a failed record was not applied (`code`: sequence_consumed, superseded_by, expired or a result code). */
export interface TxReason {
  code: string
  message: string
  hash?: string
  resultCodes?: Record<string, unknown>
}

/** What keeps a pending or ready record from being submitted now, besides signatures. */
export interface WaitingFor {
  kind: 'predecessor' | 'sibling' | 'blocked' | 'minTime' | 'ledger' | 'minSeqAge' | 'minSeqLedgerGap'
  hash?: string
  at?: number
  ledger?: number
  notBefore?: number
  notBeforeLedger?: number
  missing?: { from: string; to: string }[]
  missingCount?: number
}

export interface TxInfo {
  /** only on private records */
  visibility?: 'private'
  hash: string
  network: string
  xdr: string
  signatures: SignatureInfo[]
  status: TxStatus
  submit: boolean
  callback: boolean // whether a callback URL is set; the URL itself is never public
  desiredSigners: string[] | null
  minTime: number
  maxTime: number | null
  submitted: number | null
  error: string | null
  reason?: TxReason | null
  waitingFor?: WaitingFor | null
  createdAt: number
  updatedAt: number
  readyAt: number | null
  feeBump: { innerHash: string; feeSource: string } | null
  result: TxResult | null
  progress?: Progress
  summary?: TxSummary
}

export interface SignatureChange {
  key: string
  signature: string
  reason?: string
}

export interface TxChanges {
  accepted: SignatureChange[]
  rejected: SignatureChange[]
}

export type TxPostResponse = TxInfo & { changes?: TxChanges }

export interface NetworkInfo {
  name: string
  passphrase: string
  aliases?: string[]
}

export interface Delivery {
  id: string | number
  attempt: number
  at: number
  status: number | string | null
  error: string | null
  durationMs?: number | null
}

export interface TxPage {
  items: TxInfo[]
  next: string | null
}

export interface NewTxRequest {
  network: string
  xdr: string
  submit?: boolean
  callbackUrl?: string
  desiredSigners?: string[]
  expires?: number
  visibility?: 'public' | 'private'
}

export interface Subscription {
  id: string
  url: string
  events: string[]
  createdAt: number
  secret?: string
}

export interface EventDeliveryInfo {
  id: string
  type: string
  hash: string | null
  createdAt: number
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  lastError: string | null
  log: { attempt?: number; at?: number; status?: number | null; error?: string | null }[]
}

export interface Sep7Link {
  uri: string
  callback: string
  networkPassphrase: string
  originDomain: string | null
  signed: boolean
}
