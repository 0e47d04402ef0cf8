"""Shared plumbing for the loopback gRPC servers: lifecycle, fault injection and recording.

Both the Cloud Logging fake and the OTLP receiver need the same things from a test's point of
view: a real socket on 127.0.0.1 that real clients connect to, a way to make the next calls
fail or stall (to exercise the clients' retry and drop paths), and a record of what arrived
that tests can wait on without sleeping. That lives here once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo

if TYPE_CHECKING:  # typing.Self is 3.11+; annotations are strings here, so only mypy needs it
    from typing_extensions import Self

#: Trailing-metadata key under which gRPC servers send a google.rpc.RetryInfo; the OTLP gRPC
#: exporter honours it as the backoff before its next attempt.
RETRY_INFO_KEY = "google.rpc.retryinfo-bin"


@dataclass(frozen=True)
class Fault:
    """One injected failure: the status the next call gets instead of being recorded."""

    code: grpc.StatusCode
    details: str
    retry_delay: float | None = None

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        """RetryInfo metadata, so clients that honour it back off for `retry_delay` only."""
        if self.retry_delay is None:
            return ()
        delay = Duration()
        delay.FromNanoseconds(int(self.retry_delay * 1e9))
        return ((RETRY_INFO_KEY, RetryInfo(retry_delay=delay).SerializeToString()),)


class LoopbackGrpcServer:
    """A real grpcio server on 127.0.0.1 that records requests and can be told to misbehave.

    Subclasses register their service in `_add_services` and route every RPC through
    `_handle`, which applies the configured delay and faults before recording.
    Accounting, all counted per RPC that reached the server:
      * `attempts`  - every call, including failed and abandoned ones;
      * `failures`  - calls answered with an injected fault (nothing recorded);
      * `abandoned` - calls whose client had already given up (deadline or cancel) by the time
        the delay ended; they are not recorded either, so "recorded" always means "the client
        was told it succeeded".
    """

    def __init__(self, *, max_workers: int = 8) -> None:
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._port = 0
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._faults: deque[Fault] = deque()
        self._delay = 0.0
        self._answer_delay = 0.0  # after recording: the call is stored, its answer late
        self._outage: tuple[float, Fault] | None = None  # (monotonic end, the fault until then)
        self.attempts = 0
        self.failures = 0
        self.abandoned = 0
        self.in_progress = 0  # calls being handled now
        self.most_at_once = 0  # the most calls ever handled at once: how concurrent the client is

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve; after a stop(), binds the same port again to mimic a restart."""
        if self._server is not None:
            raise RuntimeError("server already running")
        self._stopping.clear()
        self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix=type(self).__name__)
        server = grpc.server(self._executor)
        self._add_services(server)
        self._port = server.add_insecure_port(f"127.0.0.1:{self._port}")
        if not self._port:
            raise RuntimeError("could not bind a loopback port")
        server.start()
        self._server = server
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        """Stop serving and join the worker threads; safe to call twice or before start()."""
        server, executor = self._server, self._executor
        self._server = self._executor = None
        self._stopping.set()  # wakes handlers sleeping in an injected delay
        if server is not None:
            server.stop(grace).wait()
        if executor is not None:
            executor.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (0 before the first start())."""
        return self._port

    @property
    def address(self) -> str:
        """host:port, as grpc.insecure_channel() wants it."""
        return f"127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        """Whether the server is currently accepting calls."""
        return self._server is not None

    # -- misbehaviour ----------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        *,
        details: str = "injected failure",
        retry_delay: float | None = None,
    ) -> None:
        """Answer the next `n` calls with `code`; `retry_delay` adds a RetryInfo hint (seconds)."""
        if code is grpc.StatusCode.OK:
            raise ValueError("a fault needs a non-OK status code")
        with self._changed:
            self._faults.extend(Fault(code, details, retry_delay) for _ in range(n))

    def fail_for(self, seconds: float, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        """Answer every call with `code` for the next `seconds` (an outage), then recover."""
        with self._changed:
            self._outage = (time.monotonic() + seconds, Fault(code, "injected outage"))

    def set_delay(self, seconds: float) -> None:
        """Stall every following call this long before answering (0 turns it off)."""
        with self._changed:
            self._delay = max(0.0, seconds)

    def set_answer_delay(self, seconds: float) -> None:
        """Record every following call at once, then stall its answer this long (0 turns it off):
        a client that gives up meanwhile does not know its call was stored."""
        with self._changed:
            self._answer_delay = max(0.0, seconds)

    def clear_faults(self) -> None:
        """Drop pending faults and the delay, leaving what was recorded."""
        with self._changed:
            self._faults.clear()
            self._delay = self._answer_delay = 0.0
            self._outage = None

    @property
    def pending_faults(self) -> int:
        """Injected failures not yet consumed by a call."""
        with self._changed:
            return len(self._faults)

    # -- recording -------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything recorded and every fault, e.g. between phases of one test."""
        with self._changed:
            self._faults.clear()
            self._delay = self._answer_delay = 0.0
            self._outage = None
            self.attempts = self.failures = self.abandoned = self.most_at_once = 0
            self._clear_records()

    def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate()` (checked under the lock) holds, or `timeout` passes."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _handle(self, request: Any, context: grpc.ServicerContext, record: Callable[[], None]) -> None:
        """Count the call, apply delay and faults, then `record()` it under the lock."""
        with self._changed:
            self.attempts += 1
            self.in_progress += 1
            self.most_at_once = max(self.most_at_once, self.in_progress)
            delay = self._delay
        try:
            self._answer(context, record, delay)
        finally:
            with self._changed:
                self.in_progress -= 1

    def _answer(self, context: grpc.ServicerContext, record: Callable[[], None], delay: float) -> None:
        if delay and self._stopping.wait(delay):
            context.abort(grpc.StatusCode.UNAVAILABLE, "server shutting down")
        with self._changed:
            fault = self._faults.popleft() if self._faults else self._current_outage()
            if fault is not None:
                self.failures += 1
            elif not context.is_active():
                self.abandoned += 1
            else:
                record()
            self._changed.notify_all()
            answer_delay = self._answer_delay
        if fault is None and answer_delay:
            self._stopping.wait(answer_delay)
        if fault is not None:
            context.set_trailing_metadata(fault.trailing_metadata())
            context.abort(fault.code, fault.details)

    def _current_outage(self) -> Fault | None:
        if self._outage is not None and time.monotonic() < self._outage[0]:
            return self._outage[1]
        return None

    @staticmethod
    def _metadata(context: grpc.ServicerContext) -> dict[str, str]:
        """The call's text metadata (user agent, custom headers) as a dict."""
        return {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}

    # -- subclass hooks --------------------------------------------------------------------

    def _add_services(self, server: grpc.Server) -> None:
        raise NotImplementedError

    def _clear_records(self) -> None:
        raise NotImplementedError

