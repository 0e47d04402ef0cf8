"""The standard ``OTEL_EXPORTER_OTLP_*`` variables, read as the official Python exporters read them.

The protocol was not read at all: with ``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`` the gRPC
exporters spoke gRPC to an OTLP/HTTP port and 0 of 1,000 events arrived. Here each signal's
protocol is chosen (``OTEL_EXPORTER_OTLP_{LOGS,METRICS}_PROTOCOL``, else the generic variable, else
``grpc``, the Python SDK's default), and, for our own HTTP log transport (``http``), the endpoint,
headers, compression, timeout and certificates are read exactly as ``opentelemetry-exporter-otlp-
proto-http`` reads them: the per-signal variable first, then the generic one; the generic endpoint
gets ``/v1/<signal>`` appended (the per-signal one is used as given); default
``http://localhost:4318/``; timeouts in seconds (the Python exporters' reading). Where the official
exporter would raise on a bad value (a compression it does not know), we warn once, naming the
variable, the value and the default used, and go on with the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from opentelemetry.util.re import parse_env_headers

from gyrinx_tracker._diagnostics import warn_limited

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
HTTP_JSON = "http/json"
PROTOCOLS = (GRPC, HTTP_PROTOBUF, HTTP_JSON)
DEFAULT_PROTOCOL = GRPC  # what the Python SDK's own configurator picks when nothing is set

DEFAULT_HTTP_ENDPOINT = "http://localhost:4318/"
DEFAULT_TIMEOUT = 10.0  # seconds, as the official exporters
COMPRESSIONS = ("none", "gzip", "deflate")


def _standard(environ: Mapping[str, str], signal: str, name: str) -> tuple[str, str] | None:
    """(variable, value) of the per-signal variable if set, else of the generic one, else None."""
    for variable in (f"OTEL_EXPORTER_OTLP_{signal}_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        value = environ.get(variable)
        if value:
            return variable, value
    return None


def protocol(environ: Mapping[str, str], signal: str) -> str:
    """The protocol of ``signal`` ("LOGS" or "METRICS"): ``grpc`` or ``http/protobuf``.

    ``http/json`` is not offered by the official Python exporters; it is sent as ``http/protobuf``
    to the same endpoint (a collector's OTLP/HTTP receiver takes both), with one warning.
    """
    found = _standard(environ, signal, "PROTOCOL")
    if found is None:
        return DEFAULT_PROTOCOL
    variable, value = found
    chosen = value.strip().lower()
    if chosen == HTTP_JSON:
        warn_limited(f"protocol:{variable}", "gyrinx_tracker: %s=%s: the official OpenTelemetry Python "
                     "exporters offer no http/json; sending http/protobuf to the same endpoint instead "
                     "(an OpenTelemetry Collector accepts both; a JSON-only receiver will refuse it)",
                     variable, value)
        return HTTP_PROTOBUF
    if chosen not in PROTOCOLS:
        warn_limited(f"protocol:{variable}", "gyrinx_tracker: %s=%r is not a known OTLP protocol "
                     "(grpc, http/protobuf, http/json); using the default, %s", variable, value, DEFAULT_PROTOCOL)
        return DEFAULT_PROTOCOL
    return chosen


def protocol_source(environ: Mapping[str, str], signal: str) -> str | None:
    """The variable ``protocol`` read for ``signal`` (None: nothing set, the default): what doctor names."""
    found = _standard(environ, signal, "PROTOCOL")
    return found[0] if found is not None else None


def http_endpoint_source(environ: Mapping[str, str], signal: str) -> str | None:
    """The variable ``http_endpoint`` built ``signal``'s URL from (None: the default)."""
    for variable in (f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if environ.get(variable):
            return variable
    return None


@dataclass(frozen=True)
class HttpSettings:
    """Where and how one signal's OTLP/HTTP requests go."""

    endpoint: str
    headers: dict[str, str]
    timeout: float
    compression: str  # "none", "gzip" or "deflate"
    verify: bool | str  # a CA bundle's path, or True for the system's
    client_cert: str | tuple[str, str] | None


def http_settings(environ: Mapping[str, str], signal: str, timeout: float | None = None) -> HttpSettings:
    """``signal``'s settings ("LOGS": path ``v1/logs``), ``timeout`` (seconds) overriding the variables'."""
    return HttpSettings(
        endpoint=http_endpoint(environ, signal),
        headers=dict(parse_env_headers((_standard(environ, signal, "HEADERS") or ("", ""))[1], liberal=True)),
        timeout=timeout if timeout is not None else http_timeout(environ, signal),
        compression=compression(environ, signal),
        verify=(_standard(environ, signal, "CERTIFICATE") or ("", True))[1],
        client_cert=_client_cert(environ, signal),
    )


def http_endpoint(environ: Mapping[str, str], signal: str) -> str:
    """The per-signal endpoint as given, else the generic one (or the default) with ``/v1/<signal>``."""
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    if specific:
        return specific
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_HTTP_ENDPOINT
    path = f"v1/{signal.lower()}"
    return base + path if base.endswith("/") else f"{base}/{path}"


def http_timeout(environ: Mapping[str, str], signal: str) -> float:
    """The standard timeout in seconds; a value that is not a positive number warns and gives 10."""
    found = _standard(environ, signal, "TIMEOUT")
    if found is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(found[1])
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        warn_limited(f"timeout:{found[0]}", "gyrinx_tracker: %s=%r is not a positive number of seconds; "
                     "using the default, %s", found[0], found[1], DEFAULT_TIMEOUT)
        return DEFAULT_TIMEOUT
    return seconds


def compression(environ: Mapping[str, str], signal: str) -> str:
    """``none``, ``gzip`` or ``deflate``; anything else warns and gives ``none``."""
    found = _standard(environ, signal, "COMPRESSION")
    if found is None:
        return "none"
    chosen = found[1].strip().lower()
    if chosen not in COMPRESSIONS:
        warn_limited(f"compression:{found[0]}", "gyrinx_tracker: %s=%r is not a known compression "
                     "(none, gzip, deflate); using the default, none", found[0], found[1])
        return "none"
    return chosen


def _client_cert(environ: Mapping[str, str], signal: str) -> str | tuple[str, str] | None:
    """The client certificate (and key, when both are given) for mutual TLS, as ``requests`` takes it."""
    cert = _standard(environ, signal, "CLIENT_CERTIFICATE")
    key = _standard(environ, signal, "CLIENT_KEY")
    if cert is None:
        return None
    return (cert[1], key[1]) if key is not None else cert[1]
