"""Every error the runtime raises on purpose, sorted by what to do about it.

* **Transient** (:class:`TransientStoreError`): throttling, a timeout, a 5xx answer, a dropped connection.
  The same call can succeed a little later, so the state machine's ``Retry`` blocks retry these, and only
  these (:data:`RETRYABLE_ERRORS` lists every name they may name).
* **Permanent** (:class:`PermanentError` and its subclasses): no published configuration, a configuration
  that fails validation, a missing table or bucket, access denied. Trying again changes nothing, so the task
  fails at once, and the message says what a person should do.

Step Functions matches a Lambda error by the exception's class name (``errorType``), never by its base
classes: a class that should be retried must be named in the ASL ``Retry`` blocks itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class DunningError(Exception):
    """Base of the errors this package raises on purpose; the message is meant for a person."""


class PermanentError(DunningError):
    """Retrying cannot help: the message says what to fix."""


class TransientError(DunningError):
    """The same call can succeed a little later: the base of every error a state machine's ``Retry`` names
    (Step Functions matches the leaf class's name, so each leaf is listed in :data:`RETRYABLE_ERRORS`)."""


# ---------------------------------------------------------------------------------------------- storage
class StoreError(DunningError):
    """A DynamoDB or S3 call failed (after the client's own retries). Catch this for "any storage failure";
    raise one of the subclasses so the caller (and the state machine) can tell whether a retry can help."""


class TransientStoreError(StoreError, TransientError):
    """Throttled, timed out, a 5xx or a dropped connection: the same call can succeed later (retried)."""


class PermanentStoreError(StoreError, PermanentError):
    """The store refused the call for a reason a retry does not change (access denied, a bad request)."""


class MissingResource(PermanentStoreError):
    """A table, index or bucket this function is configured with does not exist."""


class ObjectArchived(PermanentStoreError):
    """GetObject answered InvalidObjectState: the object is in an archive storage class (Glacier Deep Archive)
    and needs a restore (:meth:`dunning.store.blobs.S3Blobs.restore`) before it can be read."""

    def __init__(self, bucket: str, key: str, storage_class: str) -> None:
        super().__init__(f"s3://{bucket}/{key} is in {storage_class or 'an archive storage class'} and must be "
                         "restored before it can be read")
        self.bucket, self.key, self.storage_class = bucket, key, storage_class


# ---------------------------------------------------------------------------------------------- configuration
class ConfigError(PermanentError, ValueError):
    """The configuration is invalid; the message lists every problem with where it is."""

    @classmethod
    def from_validation(cls, exc: ValidationError, source: str, hint: str = "") -> ConfigError:
        """One line per problem (``location: message``; never the input values), then ``hint``."""
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        return cls(f"{source}: {len(lines)} problem(s)\n" + "\n".join(lines) + (f"\n{hint}" if hint else ""))


class NoPublishedConfiguration(ConfigError):
    """The runs bucket holds no published configuration yet."""

    def __init__(self, bucket: str, key: str) -> None:
        super().__init__(f"no configuration is published (s3://{bucket}/{key} does not exist): "
                         "run `dunning config publish infra/config`")
        self.bucket, self.key = bucket, key


# ---------------------------------------------------------------------------------------------- the run
class RunAlreadyActive(DunningError):
    """Another run holds the lock for this as-of date (the state machine catches this by name)."""


# ---------------------------------------------------------------------------------------------- outbound HTTP
class HttpRetryable(TransientError):
    """A workflow's HTTP step got a 429, a 5xx, a timeout or a connection error and has retries left: the
    conversation state machine's ``Retry`` on its Http task retries it (``HttpRetryIntervalSeconds``)."""


# ---------------------------------------------------------------------------------------------- retry policy
#: Every error name a ``Retry`` block of the state machines may list: the transient errors above, Lambda's
#: own service errors, and botocore's connection and timeout errors (raised by clients outside ``store/``).
RETRYABLE_ERRORS: tuple[str, ...] = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    TransientStoreError.__name__,
    HttpRetryable.__name__,
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
)
