import type { TxInfo, TxStatus } from './types'

export const STATUS_LABEL: Record<TxStatus, string> = {
  pending: 'Waiting for signatures',
  ready: 'Fully signed',
  processing: 'Submitting',
  processed: 'Processed',
  failed: 'Failed',
}

export function statusLabel(tx: Pick<TxInfo, 'status' | 'submitted' | 'submit'>): string {
  if (tx.status === 'processed' && tx.submitted) return 'Executed on the network'
  if ((tx.status === 'ready' || tx.status === 'processed') && !tx.submit && !tx.submitted) return 'Fully signed, not submitted'
  return STATUS_LABEL[tx.status] ?? tx.status
}

export function statusTone(status: TxStatus): 'wait' | 'ok' | 'busy' | 'bad' {
  switch (status) {
    case 'pending':
      return 'wait'
    case 'ready':
    case 'processed':
      return 'ok'
    case 'processing':
      return 'busy'
    default:
      return 'bad'
  }
}

export function isFinal(status: TxStatus): boolean {
  return status === 'processed' || status === 'failed'
}

/** Signing can still change the outcome. */
export function canSign(tx: Pick<TxInfo, 'status' | 'maxTime'>, nowSeconds = Date.now() / 1000): boolean {
  return tx.status === 'pending' && !(tx.maxTime && tx.maxTime < nowSeconds)
}

/** Fully signed, stored without auto-submit and not submitted yet: POST /tx/{hash}/submit applies.
 * Such records go from ready to processed (callback handled) without being submitted. */
export function canSubmitManually(tx: Pick<TxInfo, 'status' | 'submit' | 'submitted'>): boolean {
  return (tx.status === 'ready' || tx.status === 'processed') && !tx.submit && !tx.submitted
}

/** Nothing about the record can change any more. */
export function isSettled(tx: Pick<TxInfo, 'status' | 'submitted'>): boolean {
  return tx.status === 'failed' || (tx.status === 'processed' && !!tx.submitted)
}
