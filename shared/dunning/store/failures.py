"""botocore's exceptions translated into :mod:`dunning.errors`: the only place that reads AWS error codes.

A call has already been retried by the client (standard mode, :data:`dunning.aws.RETRY_CONFIG`) when its
exception gets here. What is still throttled, timed out or answered with a 5xx is a
:class:`~dunning.errors.TransientStoreError` (the state machine tries the task again later); everything else
is permanent and fails at once with what to check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

from dunning.errors import MissingResource, PermanentStoreError, StoreError, TransientStoreError

TRANSIENT_CODES = frozenset({
    "ThrottlingException", "Throttling", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "InternalServerError", "InternalError", "InternalFailure",
    "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
    "TransactionInProgressException",
})
MISSING_CODES = frozenset({"ResourceNotFoundException", "NoSuchBucket", "TableNotFoundException"})
DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidAccessKeyId",
    "InvalidClientTokenId", "MissingAuthenticationToken", "SignatureDoesNotMatch",
})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def store_error(exc: Exception, doing: str) -> StoreError:
    """The :mod:`dunning.errors` class for a failed call; ``doing`` names the call and its table or bucket
    (e.g. ``"Query on dunning-ledger"``). Raise it ``from exc``."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in TRANSIENT_CODES or status >= 500:
            return TransientStoreError(f"{doing} failed ({code or status}); it can succeed if tried again later")
        if code in MISSING_CODES:
            return MissingResource(f"{doing} failed: the table, index or bucket does not exist ({code}); check "
                                   "the function's table and bucket settings, or deploy the stack")
        if code in DENIED_CODES:
            return PermanentStoreError(f"{doing} was refused ({code}): give the function's role the permission, "
                                       "or check its credentials")
        return PermanentStoreError(f"{doing} failed ({code or status}): {exc}")
    if isinstance(exc, ConnectionError | HTTPClientError):  # connect/read timeouts, dropped connections
        return TransientStoreError(f"{doing} failed ({type(exc).__name__}); it can succeed if tried again later")
    if isinstance(exc, BotoCoreError):  # bad parameters, no credentials: a retry cannot help
        return PermanentStoreError(f"{doing} failed ({type(exc).__name__}): {exc}")
    return PermanentStoreError(f"{doing} failed: {exc}")


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Run AWS calls, raising any botocore exception as its :mod:`dunning.errors` class (``from`` it)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise store_error(exc, doing) from exc
