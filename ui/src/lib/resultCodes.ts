// Stellar transaction and operation result codes in plain language.
// Codes arrive in Horizon style (tx_bad_seq, op_underfunded) or XDR style (txBAD_SEQ, PAYMENT_UNDERFUNDED);
// normalizeCode turns both into the Horizon style used as keys below.

export const TX_CODES: Record<string, string> = {
  tx_success: 'The transaction succeeded.',
  tx_failed: 'One or more operations failed, so none of them were applied. See the operation results.',
  tx_too_early: 'The transaction was submitted before its validity window opened (time or ledger bounds).',
  tx_too_late: 'The transaction expired: its validity window (time or ledger bounds) had already closed.',
  tx_missing_operation: 'The transaction has no operations.',
  tx_bad_seq: 'The sequence number does not match the source account: another transaction from that account was applied first, or the sequence number was wrong. Build and sign a new transaction.',
  tx_bad_auth: 'Not enough valid signatures: the signatures do not reach the threshold, belong to non-signers, or were made for another network.',
  tx_insufficient_balance: 'The fee would take the source account below its minimum balance (reserve).',
  tx_no_account: 'The source account does not exist on the network.',
  tx_no_source_account: 'The source account does not exist on the network.',
  tx_insufficient_fee: 'The fee is too low for the current network load. Build the transaction again with a higher fee, or wrap it in a fee bump.',
  tx_bad_auth_extra: 'The transaction carries signatures that are not needed; the network rejects unused signatures.',
  tx_internal_error: 'The network hit an internal error while applying the transaction. Trying again may work.',
  tx_not_supported: 'The transaction uses a feature this network version does not support.',
  tx_fee_bump_inner_success: 'The fee bump succeeded and so did the inner transaction.',
  tx_fee_bump_inner_failed: 'The fee bump was valid but the inner transaction failed. See the operation results.',
  tx_bad_sponsorship: 'A sponsorship was started but not ended (or ended without being started) within the transaction.',
  tx_bad_min_seq_age_or_gap: 'The minimum sequence age or ledger gap precondition is not met yet.',
  tx_malformed: 'The transaction is malformed (invalid preconditions or fields).',
  tx_soroban_invalid: 'The smart-contract (Soroban) part of the transaction is invalid.',
  tx_frozen_key_accessed: 'The transaction touches a ledger key that is frozen.',
}

export const OP_CODES: Record<string, string> = {
  op_success: 'Succeeded.',
  op_inner: 'See the inner operation result.',
  op_bad_auth: 'Not enough signature weight for this operation\'s source account, or the operation needs a higher threshold.',
  op_no_source_account: 'The operation\'s source account does not exist.',
  op_no_account: 'The operation\'s source account does not exist.',
  op_not_supported: 'This operation is not supported by the network.',
  op_too_many_subentries: 'The account has too many subentries (trustlines, offers, signers, data): at most 1000.',
  op_exceeded_work_limit: 'The operation did too much work (crossed too many offers).',
  op_too_many_sponsoring: 'The account sponsors too many entries.',
  op_malformed: 'The operation is malformed (an invalid amount, asset or parameter).',
  op_underfunded: 'The source account does not have enough of the asset (after keeping its reserve and liabilities).',
  op_src_no_trust: 'The source account has no trustline for the asset being sent.',
  op_src_not_authorized: 'The source account is not authorized by the issuer to send this asset.',
  op_no_destination: 'The destination account does not exist. Create it first (Create Account).',
  op_no_trust: 'The destination account has no trustline for this asset.',
  op_not_authorized: 'The account is not authorized by the asset issuer to hold or use this asset.',
  op_line_full: 'The destination\'s trustline limit would be exceeded.',
  op_no_issuer: 'The asset\'s issuer account does not exist.',
  op_low_reserve: 'The account would fall below its minimum balance (reserve) after this operation.',
  op_already_exists: 'The account (or entry) being created already exists.',
  op_too_few_offers: 'There is no path with enough offers to make this conversion.',
  op_offer_cross_self: 'The offer would trade against another offer from the same account.',
  op_cross_self: 'The offer would trade against another offer from the same account.',
  op_over_source_max: 'The conversion would cost more than the maximum you set.',
  op_under_dest_min: 'The conversion would deliver less than the minimum you set.',
  op_sell_no_trust: 'The account has no trustline for the asset it is selling.',
  op_buy_no_trust: 'The account has no trustline for the asset it is buying.',
  op_sell_not_authorized: 'The account is not authorized to sell this asset.',
  op_buy_not_authorized: 'The account is not authorized to buy this asset.',
  op_offer_not_found: 'The offer to update or delete was not found.',
  op_buy_no_issuer: 'The issuer of the asset being bought does not exist.',
  op_sell_no_issuer: 'The issuer of the asset being sold does not exist.',
  op_invalid_limit: 'The trustline limit is lower than the current balance plus liabilities.',
  op_invalid_inflation: 'The inflation destination does not exist.',
  op_cant_change: 'The issuer does not allow this trustline authorization change.',
  op_trust_not_required: 'The issuer does not require authorization for this asset.',
  op_self_not_allowed: 'An account cannot do this to itself (for example trust or merge into itself).',
  op_bad_flags: 'The flags being set or cleared are inconsistent.',
  op_auth_revocable_required: 'Clawback needs the asset to be revocable as well.',
  op_unknown_flag: 'An unknown account flag was set.',
  op_cant_change_flags: 'The account\'s flags are locked (AUTH_IMMUTABLE).',
  op_auth_immutable: 'The account has AUTH_IMMUTABLE set, so it cannot be merged or changed this way.',
  op_bad_signer: 'The signer cannot be added: it is the account\'s own master key or is invalid.',
  op_invalid_home_domain: 'The home domain is not valid.',
  op_threshold_out_of_range: 'A threshold or weight is outside 0–255.',
  op_immutable_set: 'The account is immutable and cannot be merged.',
  op_has_sub_entries: 'The account still has trustlines, offers or data entries, so it cannot be merged.',
  op_seqnum_too_far: 'The account\'s sequence number is too high to merge it now.',
  op_dest_full: 'The destination would exceed the maximum balance.',
  op_is_sponsor: 'The account sponsors other entries, so it cannot be merged.',
  op_not_time: 'Inflation is not due yet.',
  op_name_not_found: 'The data entry to delete does not exist.',
  op_invalid_name: 'The data entry name is not valid.',
  op_bad_seq: 'The new sequence number must be higher than the current one.',
  op_does_not_exist: 'The entry does not exist.',
  op_not_sponsored: 'The entry is not sponsored.',
  op_only_transferable: 'Only the sponsorship can be transferred here.',
  op_not_sponsor: 'The source account is not the sponsor of this entry.',
  op_already_sponsored: 'The account is already sponsored.',
  op_recursive: 'Sponsorship cannot be recursive.',
  op_no_trustline: 'The trustline does not exist.',
  op_trustline_missing: 'The trustline does not exist.',
  op_cannot_claim: 'The claimant cannot claim this balance (wrong claimant or predicate not met).',
  op_not_clawback_enabled: 'Clawback is not enabled for this asset or balance.',
  op_bad_price: 'The price is not valid.',
  op_underfunded_reserve: 'The account cannot cover the reserve.',
  op_incompatible_pool_type: 'The liquidity pool type is not supported.',
  op_pool_full: 'The liquidity pool is full.',
  op_invalid_credit_amount: 'The amount is not valid.',
  op_trapped: 'The operation failed in a smart contract (trapped).',
  op_resource_limit_exceeded: 'The smart contract exceeded its resource limits.',
  op_entry_archived: 'A smart-contract ledger entry is archived and must be restored first.',
  op_insufficient_refundable_fee: 'The refundable fee is too low for the smart contract\'s needs.',
}

const TX_XDR_RE = /^tx[A-Z]/
// XDR-style operation codes carry the operation name as prefix (PAYMENT_UNDERFUNDED, CHANGE_TRUST_LOW_RESERVE).
const OP_PREFIXES = [
  'CREATE_ACCOUNT', 'PATH_PAYMENT_STRICT_RECEIVE', 'PATH_PAYMENT_STRICT_SEND', 'PAYMENT', 'MANAGE_SELL_OFFER',
  'MANAGE_BUY_OFFER', 'MANAGE_OFFER', 'SET_OPTIONS', 'CHANGE_TRUST', 'ALLOW_TRUST', 'ACCOUNT_MERGE', 'INFLATION',
  'MANAGE_DATA', 'BUMP_SEQUENCE', 'CREATE_CLAIMABLE_BALANCE', 'CLAIM_CLAIMABLE_BALANCE',
  'BEGIN_SPONSORING_FUTURE_RESERVES', 'END_SPONSORING_FUTURE_RESERVES', 'REVOKE_SPONSORSHIP', 'CLAWBACK_CLAIMABLE_BALANCE',
  'CLAWBACK', 'SET_TRUST_LINE_FLAGS', 'LIQUIDITY_POOL_DEPOSIT', 'LIQUIDITY_POOL_WITHDRAW', 'INVOKE_HOST_FUNCTION',
  'EXTEND_FOOTPRINT_TTL', 'RESTORE_FOOTPRINT',
]

export function normalizeCode(code: string): string {
  let c = code.trim()
  // camelCase spellings (txBadSeq, opUnderfunded) become txBAD_SEQ / opUNDERFUNDED
  if (/^(tx|op)[A-Z][a-z]/.test(c)) c = c.slice(0, 2) + c.slice(2).replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
  if (TX_XDR_RE.test(c)) return `tx_${c.slice(2).toLowerCase()}`
  if (/^op[A-Z]/.test(c)) return `op_${c.slice(2).toLowerCase()}`
  if (/^[A-Z0-9_]+$/.test(c)) {
    for (const prefix of OP_PREFIXES) {
      if (c.startsWith(prefix + '_')) return `op_${c.slice(prefix.length + 1).toLowerCase()}`
    }
    return c.toLowerCase()
  }
  return c.toLowerCase()
}

export function explainTxCode(code: string | null | undefined): string | null {
  if (!code) return null
  const key = normalizeCode(code)
  return TX_CODES[key] ?? null
}

export function explainOpCode(code: string | null | undefined): string | null {
  if (!code) return null
  const key = normalizeCode(code)
  return OP_CODES[OP_ALIASES[key] ?? key] ?? null
}

// XDR names that Horizon spells differently.
const OP_ALIASES: Record<string, string> = {
  op_already_exist: 'op_already_exists',
  op_under_destmin: 'op_under_dest_min',
  op_over_sendmax: 'op_over_source_max',
  op_cross_self: 'op_offer_cross_self',
  op_no_issuer: 'op_no_issuer',
  op_sell_no_issuer: 'op_sell_no_issuer',
}

export interface ExplainedCode {
  code: string
  text: string
  index?: number
}

/** Everything worth showing about a failed result: the transaction code and each failed operation's code. */
export function explainResult(
  txCode: string | null | undefined,
  opCodes: (string | null)[] | null | undefined,
): { tx: ExplainedCode | null; ops: ExplainedCode[] } {
  const tx = txCode ? { code: txCode, text: explainTxCode(txCode) ?? 'Unrecognised result code.' } : null
  const ops: ExplainedCode[] = []
  ;(opCodes ?? []).forEach((code, index) => {
    if (!code) return
    const key = normalizeCode(code)
    if (key === 'op_success') return
    ops.push({ code, index, text: explainOpCode(code) ?? 'Unrecognised result code.' })
  })
  return { tx, ops }
}

/** Finds result codes mentioned inside a free-text error (e.g. "submission failed: tx_bad_seq"). */
export function codesInText(text: string | null | undefined): ExplainedCode[] {
  if (!text) return []
  const found = new Map<string, ExplainedCode>()
  for (const m of text.matchAll(/\b(?:tx|op)_[a-z_]+\b|\b(?:tx|op)[A-Z][A-Za-z_]+\b|\b[A-Z]+(?:_[A-Z]+)+\b/g)) {
    const code = m[0]
    const key = normalizeCode(code)
    const explanation = TX_CODES[key] ?? OP_CODES[OP_ALIASES[key] ?? key]
    if (explanation && !found.has(key)) found.set(key, { code, text: explanation })
  }
  return [...found.values()]
}
