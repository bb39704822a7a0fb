"""Result-code names and threshold levels, as stellar-core and Horizon spell them."""

from __future__ import annotations

from stellar_sdk import xdr

LOW, MEDIUM, HIGH = 0, 1, 2

OpType = xdr.OperationType

# stellar-core's getThresholdLevel overrides; every other operation is MEDIUM.
# Extend/Restore footprint are LOW in core even though the docs list them as medium.
_LOW_OPS = frozenset(
    {
        OpType.ALLOW_TRUST,
        OpType.SET_TRUST_LINE_FLAGS,
        OpType.BUMP_SEQUENCE,
        OpType.CLAIM_CLAIMABLE_BALANCE,
        OpType.INFLATION,
        OpType.EXTEND_FOOTPRINT_TTL,
        OpType.RESTORE_FOOTPRINT,
    }
)


def threshold_level(op: xdr.Operation) -> int:
    kind = op.body.type
    if kind in _LOW_OPS:
        return LOW
    if kind == OpType.ACCOUNT_MERGE:
        return HIGH
    if kind == OpType.SET_OPTIONS:
        so = op.body.set_options_op
        assert so is not None
        touches_auth = (
            so.master_weight is not None
            or so.low_threshold is not None
            or so.med_threshold is not None
            or so.high_threshold is not None
            or so.signer is not None
        )
        return HIGH if touches_auth else MEDIUM
    return MEDIUM


# Horizon's names where they are not simply "tx_" + the lower-cased core suffix.
_HORIZON_TX_NAMES = {
    "txNO_ACCOUNT": "tx_no_source_account",
    "txBAD_MIN_SEQ_AGE_OR_GAP": "tx_bad_minseq_age_or_gap",
}


def horizon_tx_code(core_name: str) -> str:
    """Core name to Horizon's result_codes.transaction name, e.g. txBAD_AUTH -> tx_bad_auth."""
    return _HORIZON_TX_NAMES.get(core_name, "tx_" + core_name[2:].lower())


_HORIZON_OUTER_OP_NAMES = {
    xdr.OperationResultCode.opBAD_AUTH: "op_bad_auth",
    xdr.OperationResultCode.opNO_ACCOUNT: "op_no_source_account",
    xdr.OperationResultCode.opNOT_SUPPORTED: "op_not_supported",
    xdr.OperationResultCode.opTOO_MANY_SUBENTRIES: "op_too_many_subentries",
    xdr.OperationResultCode.opEXCEEDED_WORK_LIMIT: "op_exceeded_work_limit",
    xdr.OperationResultCode.opTOO_MANY_SPONSORING: "op_too_many_sponsoring",
}

# Horizon's codes/main.go spellings that differ from the generic rule below.
_HORIZON_INNER_OVERRIDES = {
    "CREATE_ACCOUNT_ALREADY_EXIST": "op_already_exists",
    "ACCOUNT_MERGE_SEQNUM_TOO_FAR": "op_seq_num_too_far",
    "ACCOUNT_MERGE_NO_ACCOUNT": "op_no_account",
    "MANAGE_DATA_NAME_NOT_FOUND": "op_data_name_not_found",
    "MANAGE_DATA_INVALID_NAME": "op_data_invalid_name",
    "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX": "op_over_source_max",
}

# Longest first so that e.g. CREATE_PASSIVE_SELL_OFFER wins over a shorter prefix.
_OP_PREFIXES = sorted((name + "_" for name in OpType.__members__), key=len, reverse=True)


def inner_code_name(result: xdr.OperationResult) -> str:
    """The core enum name of an operation result, e.g. "PAYMENT_UNDERFUNDED" or "opBAD_AUTH"."""
    if result.code != xdr.OperationResultCode.opINNER:
        return result.code.name
    tr = result.tr
    assert tr is not None
    for attr, value in vars(tr).items():
        if attr != "type" and value is not None:
            return str(value.code.name)
    raise ValueError("operation result without an inner result")


def horizon_op_code(result: xdr.OperationResult) -> str:
    """The string Horizon puts in extras.result_codes.operations for one operation."""
    if result.code != xdr.OperationResultCode.opINNER:
        return _HORIZON_OUTER_OP_NAMES.get(result.code, result.code.name.lower())
    name = inner_code_name(result)
    if name in _HORIZON_INNER_OVERRIDES:
        return _HORIZON_INNER_OVERRIDES[name]
    for prefix in _OP_PREFIXES:
        if name.startswith(prefix):
            suffix = name[len(prefix) :].lower()
            return "op_success" if suffix == "success" else "op_" + suffix
    return "op_" + name.lower()
