"""One ``WriteLogEntries`` request, sent until each of its entries is stored or refused for good.

Why not google-api-core's ``Retry``: it resends the whole request, and a partial failure under a
retryable code (UNAVAILABLE with some entries listed, or entries refused with a retryable status of
their own) then writes the stored entries again; measured against the loopback server answering
as the real API does, 117 duplicates of 9 entries. So the call is made with ``retry=None`` and the
outcome read here:

* success: every entry is stored;
* a failure whose details hold ``google.logging.v2.WriteLogEntriesPartialErrors`` (what the API
  sends with ``partial_success=True``, packed in ``google.protobuf.Any``, which api-core leaves
  packed): the entries it does not list are stored; listed entries whose own status is retryable
  (or unset, under a retryable call status) are sent again, alone, in a new request; the others
  are counted as refused;
* any other failure: nothing was stored; a retryable one sends the whole request again;
* ``DEADLINE_EXCEEDED`` after the request was sent: the API may have stored it or not. Entries
  still unsettled when the sender gives up after such an attempt are booked ``export_unknown``,
  not ``export_failed`` (the loopback server that stores a call and answers it late shows both
  books: ``tests/process/test_unknown_outcome.py``).

Retries back off (0.1 s doubling to 1 s) within one deadline, the export timeout, and stop at
once when the writer closes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions
from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
from google.cloud.logging_v2.types import WriteLogEntriesPartialErrors, WriteLogEntriesRequest
from google.rpc import code_pb2

from gyrinx_tracker._diagnostics import warn_limited
from gyrinx_tracker._pipeline.port import Delivery
from gyrinx_tracker._stats import EXPORT_FAILED, EXPORT_UNKNOWN

_PARTIAL_ERRORS: Any = WriteLogEntriesPartialErrors.pb()
_REQUEST: Any = WriteLogEntriesRequest.pb()
_TRANSIENT_ERRORS = (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded,
                     exceptions.InternalServerError, exceptions.TooManyRequests)
_TRANSIENT_CODES = frozenset({code_pb2.UNAVAILABLE, code_pb2.DEADLINE_EXCEEDED, code_pb2.INTERNAL,
                              code_pb2.RESOURCE_EXHAUSTED, code_pb2.ABORTED})
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 1.0


class _NotSent(exceptions.DeadlineExceeded):
    """The export timeout ran out before a retry was sent: its outcome is known (not stored)."""


def send(client: LoggingServiceV2Client, request: Any, timeout: float,
         closing: threading.Event, was_ready: Callable[[], bool] = lambda: True) -> Delivery:
    """Send ``request`` (retrying what may be retried) within ``timeout``; what became of each entry.

    ``was_ready``: whether the channel is connected (``shared.ready``), asked after a timeout: a
    call that timed out while it was not had not been sent.
    """
    deadline = time.monotonic() + timeout
    outcome, backoff = Delivery(0), FIRST_BACKOFF
    unsure = False  # whether an attempt timed out after it was sent: every entry since may be stored
    while True:
        count = len(request.entries)
        error = _call(client, request, deadline)
        if error is None:
            return outcome.plus(Delivery(count))
        unsure = unsure or (isinstance(error, exceptions.DeadlineExceeded) and not isinstance(error, _NotSent)
                            and was_ready())
        listed = partial_errors(error)
        if listed is not None:  # an index the request does not have names no entry of it
            listed = {i: code for i, code in listed.items() if 0 <= i < count}
        if listed is None:  # nothing of the request was stored
            stored, retry = 0, list(range(count)) if isinstance(error, _TRANSIENT_ERRORS) else []
        else:
            stored = count - len(listed)
            retry = [i for i, code in sorted(listed.items()) if _retryable(code, error)]
        refused = count - stored - len(retry)
        outcome = outcome.plus(Delivery(stored, {EXPORT_FAILED: refused} if refused else {}))
        _warn_refused(refused, count, error)
        if not retry:
            return outcome
        if time.monotonic() + backoff >= deadline or closing.wait(backoff):
            _warn_refused(len(retry), count, error)
            return outcome.plus(Delivery.failed(len(retry), EXPORT_UNKNOWN if unsure else EXPORT_FAILED))
        backoff = min(backoff * 2, MAX_BACKOFF)
        if listed is not None:
            request = _subset(request, retry)


def _call(client: LoggingServiceV2Client, request: Any, deadline: float) -> exceptions.GoogleAPIError | None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return _NotSent("the export timeout ran out before the request was sent")  # type: ignore[no-untyped-call]
    try:
        client.write_log_entries(request=WriteLogEntriesRequest.wrap(request), retry=None, timeout=remaining)
    except exceptions.GoogleAPIError as error:
        return error
    return None


def partial_errors(error: exceptions.GoogleAPIError) -> dict[int, int] | None:
    """Entry index -> ``google.rpc.Code`` of the entries a partial-success write refused, or None
    when the error does not list entries (then none of the request was stored)."""
    for detail in getattr(error, "details", None) or ():
        if isinstance(detail, _PARTIAL_ERRORS):
            errors = detail
        elif hasattr(detail, "Is") and detail.Is(_PARTIAL_ERRORS.DESCRIPTOR):
            errors = _PARTIAL_ERRORS()
            detail.Unpack(errors)
        else:
            continue
        return {int(index): status.code for index, status in errors.log_entry_errors.items()}
    return None


def _retryable(entry_code: int, error: exceptions.GoogleAPIError) -> bool:
    """An entry is resent when its own status is transient, or unset under a transient call status."""
    if entry_code == code_pb2.OK:
        return isinstance(error, _TRANSIENT_ERRORS)
    return entry_code in _TRANSIENT_CODES


def _subset(request: Any, indexes: list[int]) -> Any:
    """A request with the same log name and resource holding only the entries at ``indexes``."""
    subset = _REQUEST(log_name=request.log_name, partial_success=request.partial_success)
    subset.resource.CopyFrom(request.resource)
    subset.labels.update(request.labels)
    entries = request.entries
    subset.entries.extend(entries[i] for i in indexes)
    return subset


def _warn_refused(refused: int, count: int, error: exceptions.GoogleAPIError) -> None:
    if refused:
        warn_limited(f"cloud_logging:{type(error).__name__}",
                     "could not write %d entries to Cloud Logging (of %d sent): %s",
                     refused, count, _summary(error))


def _summary(error: exceptions.GoogleAPIError) -> str:
    """The error without its packed details (bytes that say nothing to a reader)."""
    return f"{type(error).__name__}: {getattr(error, 'message', error)}"
