"""A MOCK of Google's GCE / Cloud Run metadata server, served over HTTP on 127.0.0.1.

This is not Google's server and does not try to be complete: the real metadata server only
exists inside Google Cloud (at metadata.google.internal / 169.254.169.254) and cannot run
here. It imitates the few documented behaviours the tracker relies on - plain-text values
under /computeMetadata/v1/, the mandatory `Metadata-Flavor: Google` request header (403
without it), the same header on every response, 404 for unknown keys, directory listings and
`?recursive=true` JSON - plus knobs the real one lacks: configurable values, a delay, and a
hang, to test timeouts.

Code under test finds it through the standard environment variables google-auth and the
Google client libraries use: GCE_METADATA_HOST (host:port, no scheme) and GCE_METADATA_IP
(used by google-auth's ping); `MetadataServer.env()` returns both. Note that google-auth reads
them once, when google.auth.compute_engine._metadata is first imported.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # typing.Self is 3.11+; annotations are strings here, so only mypy needs it
    from typing_extensions import Self

ROOT = "/computeMetadata/v1/"
FLAVOR_HEADER = "Metadata-Flavor"
FLAVOR = "Google"


@dataclass(frozen=True)
class MetadataRequest:
    """One request the server saw: path (with query), and its headers."""

    path: str
    headers: dict[str, str]


def default_values(
    project_id: str = "test-project",
    numeric_project_id: str = "123456",
    region: str = "europe-west1",
    instance_id: str = "0087244a2c5a1b2c3d4e5f",
) -> dict[str, str]:
    """Keys (relative to /computeMetadata/v1/) and values shaped like Cloud Run's answers."""
    return {
        "project/project-id": project_id,
        "project/numeric-project-id": numeric_project_id,
        "instance/region": f"projects/{numeric_project_id}/regions/{region}",
        "instance/zone": f"projects/{numeric_project_id}/zones/{region}-1",
        "instance/id": instance_id,
    }


class MetadataServer:
    """Serves `values` (key -> text) from a thread per request; see the module docstring."""

    def __init__(self, values: dict[str, str] | None = None, **defaults: str) -> None:
        self.values: dict[str, str] = dict(values) if values is not None else default_values(**defaults)
        self.requests: list[MetadataRequest] = []
        self.delay = 0.0
        self._unhung = threading.Event()
        self._unhung.set()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind a free loopback port and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("server already running")
        self._stopping.clear()
        httpd = _Httpd(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        # A short poll interval keeps stop() fast; the thread is joined there, daemon is a backstop.
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), name="MetadataServer")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung requests, stop serving, join every thread and close the socket."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        self._stopping.set()
        if httpd is None or thread is None:
            return
        httpd.shutdown()
        thread.join()
        httpd.server_close()  # also joins the per-request threads

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """"127.0.0.1:PORT", the value for GCE_METADATA_HOST."""
        if self._httpd is None:
            raise RuntimeError("server not running")
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        """Base URL of the v1 tree, e.g. http://127.0.0.1:PORT/computeMetadata/v1/."""
        return f"http://{self.host}{ROOT}"

    def env(self) -> dict[str, str]:
        """Environment variables that point Google libraries at this server."""
        return {"GCE_METADATA_HOST": self.host, "GCE_METADATA_IP": self.host}

    # -- recording -------------------------------------------------------------------------

    def paths(self) -> list[str]:
        """Paths requested so far, without query strings, in order (including refused ones)."""
        with self._lock:
            return [urlsplit(r.path).path for r in self.requests]

    # -- misbehaviour ----------------------------------------------------------------------

    def set_delay(self, seconds: float) -> None:
        """Wait this long before answering each request (0 turns it off); same as `.delay = s`."""
        self.delay = max(0.0, seconds)

    def hang(self) -> None:
        """Make requests block (after being recorded) until release() or stop()."""
        self._unhung.clear()

    def release(self) -> None:
        """Let hung and future requests proceed."""
        self._unhung.set()

    # -- request handling (called from _Handler) --------------------------------------------

    def _record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(MetadataRequest(path, headers))

    def _stall(self) -> bool:
        """Apply delay and hang; False if the server is stopping and should not answer."""
        if self.delay and self._stopping.wait(self.delay):
            return False
        while not self._unhung.wait(0.05):
            if self._stopping.is_set():
                return False
        return not self._stopping.is_set()

    def _answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, str]:
        """(status, content type, body) for an authorised GET of `path`."""
        if path in ("", "/"):
            return 200, "text/plain", "computeMetadata/\n"
        if not path.startswith(ROOT) and path != ROOT.rstrip("/"):
            return 404, "text/html", "Not Found"
        key = path[len(ROOT) :]
        if key in self.values:
            return 200, "application/text", self.values[key]
        tree = _subtree(self.values, key.strip("/"))
        if tree is None:
            return 404, "text/html", "Not Found"
        if query.get("recursive", [""])[0].lower() == "true":
            return 200, "application/json", json.dumps(_camel_keys(tree))
        listing = "".join(f"{name}/\n" if isinstance(v, dict) else f"{name}\n" for name, v in tree.items())
        return 200, "application/text", listing


def _subtree(values: dict[str, str], prefix: str) -> dict[str, Any] | None:
    """The nested dict of keys under `prefix`, or None if there are none."""
    tree: dict[str, Any] = {}
    start = f"{prefix}/" if prefix else ""
    for key, value in values.items():
        if not key.startswith(start):
            continue
        *dirs, leaf = key[len(start) :].split("/")
        node = tree
        for name in dirs:
            node = node.setdefault(name, {})
        node[leaf] = value
    return tree or None


def _camel_keys(tree: dict[str, Any]) -> dict[str, Any]:
    """Keys in camelCase (project-id -> projectId), as the real recursive JSON has them."""
    return {_camel(k): _camel_keys(v) if isinstance(v, dict) else v for k, v in tree.items()}


def _camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part.title() for part in rest)


class _Httpd(ThreadingHTTPServer):
    owner: MetadataServer
    daemon_threads = False  # so server_close() joins request threads: no thread outlives stop()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out and hang up are expected here; stay quiet about them."""


class _Handler(BaseHTTPRequestHandler):
    server: _Httpd
    protocol_version = "HTTP/1.0"  # one request per connection, like the real server's clients use

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(self.path, dict(self.headers.items()))
        if not owner._stall():
            return
        if self.headers.get(FLAVOR_HEADER) != FLAVOR:
            self._send(403, "text/html", "Missing required header: Metadata-Flavor\n")
            return
        parts = urlsplit(self.path)
        self._send(*owner._answer(parts.path, parse_qs(parts.query)))

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header(FLAVOR_HEADER, FLAVOR)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""
