"""`tail`: one readable line per event from every input kind, filtering, colour and --follow."""

from __future__ import annotations

import os
import pty
import select
import selectors
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.cli.conftest import API_CALLS, DURATIONS, ROOT, Run, clean_env


class TestLines:
    def test_one_line_per_event_with_its_labels(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """Every event becomes one line; non-event output is skipped; labels, value, n and trace are shown."""
        result = cli("tail", str(inputs[kind]))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == API_CALLS + len(DURATIONS) + 1
        first_api = next(line for line in lines if " api_call " in line)
        assert "endpoint=/api/v1/" in first_api and "method=GET" in first_api and "status=" in first_api
        assert "trace=" in first_api and " INFO " in first_api
        assert any(line.endswith("operation_duration value=12 operation=generate_report") for line in lines)
        assert lines[-1].endswith("user_login ×3 method=password")

    def test_lines_starts_with_the_last_matching_events(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """-n 3 prints the last three events of the input (after the filter), for files and stdin alike."""
        from_file = cli("tail", "-n", "3", "--filter", "jsonPayload.event=operation_duration", str(inputs[kind]))
        assert [line.split("value=")[1].split()[0] for line in from_file.stdout.splitlines()] == ["38", "39", "40"]
        from_stdin = cli("tail", "-n", "1", stdin=inputs[kind].read_text(encoding="utf-8"))
        assert from_stdin.stdout.splitlines()[0].endswith("user_login ×3 method=password")

    def test_the_filter_uses_the_query_language(self, cli: Run, inputs: dict[str, Path], kind: str) -> None:
        """--filter keeps only matching events."""
        result = cli("tail", "--filter", "jsonPayload.labels.status=500", str(inputs[kind]))
        assert len(result.stdout.splitlines()) == API_CALLS // 4
        assert all("status=500" in line for line in result.stdout.splitlines())

    def test_colour_only_when_asked_or_on_a_terminal(self, cli: Run, inputs: dict[str, Path]) -> None:
        """A pipe gets plain text; --color always gets ANSI codes; NO_COLOR wins over auto."""
        assert "\x1b[" not in cli("tail", str(inputs["local"])).stdout
        assert "\x1b[1;36mapi_call\x1b[0m" in cli("tail", "--color", "always", str(inputs["local"])).stdout
        assert "\x1b[" not in cli("tail", str(inputs["local"]), env=clean_env(NO_COLOR="1")).stdout

    def test_a_real_terminal_gets_colour_by_default(self, inputs: dict[str, Path]) -> None:
        """With stdout on a pseudo-terminal, auto colours; the same run with NO_COLOR does not."""
        def on_a_tty(env: dict[str, str]) -> str:
            controller, terminal = pty.openpty()
            try:
                process = subprocess.run([sys.executable, "-m", "gyrinx_tracker", "tail", "--filter",
                                          "jsonPayload.labels.status=500", str(inputs["stdout"])],  # 10 lines: fits a pty buffer
                                         stdout=terminal, stderr=subprocess.PIPE, env=env, cwd=ROOT, timeout=60)
                assert process.returncode == 0, process.stderr
                os.close(terminal)
                terminal = -1
                chunks = []
                while select.select([controller], [], [], 1)[0]:
                    try:
                        chunk = os.read(controller, 65536)
                    except OSError:  # EIO: the terminal side is closed and drained
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
                return b"".join(chunks).decode()
            finally:
                os.close(controller)
                if terminal != -1:
                    os.close(terminal)

        assert "\x1b[1;36mapi_call\x1b[0m" in on_a_tty(clean_env(TERM="xterm"))
        plain = on_a_tty(clean_env(TERM="xterm", NO_COLOR="1"))
        assert "api_call" in plain and "\x1b[" not in plain

    def test_a_bad_filter_exits_2(self, cli: Run, inputs: dict[str, Path]) -> None:
        """tail reports filter syntax errors like query does."""
        result = cli("tail", "--filter", "(severity=INFO", str(inputs["local"]))
        assert result.returncode == 2 and "^" in result.stderr


def _read_lines(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """Up to ``count`` lines from the process's stdout, giving up after ``timeout`` seconds.

    Reads the pipe's file descriptor directly: a select on a buffered text stream misses lines
    that already sit in its buffer.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    pending = _unread.setdefault(fd, b"")
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count and time.monotonic() < deadline:
        while b"\n" in pending and len(lines) < count:
            line, pending = pending.split(b"\n", 1)
            lines.append(line.decode("utf-8"))
        if len(lines) >= count or not selector.select(timeout=0.1):
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        pending += chunk
    _unread[fd] = pending
    selector.close()
    return lines


_unread: dict[int, bytes] = {}


class TestFollow:
    def test_follow_starts_with_the_last_ten_events_like_tail(self, inputs: dict[str, Path], tmp_path: Path) -> None:
        """A long file is not replayed: --follow shows its last ten events, then new ones as they come."""
        log = tmp_path / "app.log"
        source = [line for line in inputs["local"].read_text(encoding="utf-8").splitlines() if '"event"' in line]
        log.write_text("\n".join(source[:30]) + "\n", encoding="utf-8")
        process = subprocess.Popen([sys.executable, "-m", "gyrinx_tracker", "tail", "-f", str(log)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=ROOT)
        try:
            backlog = _read_lines(process, 10, 30)
            expected = subprocess.run([sys.executable, "-m", "gyrinx_tracker", "tail", "-n", "10", str(log)],
                                      capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60)
            assert backlog == expected.stdout.splitlines() and len(backlog) == 10
            with log.open("a", encoding="utf-8") as stream:
                stream.write(source[-1] + "\n")
            (new,) = _read_lines(process, 1, 30)
            assert new.endswith("user_login ×3 method=password")
        finally:
            process.terminate()
            process.wait(10)
            assert process.stdout is not None and process.stderr is not None
            process.stdout.close()
            process.stderr.close()

    def test_follow_prints_events_appended_after_it_started(self, inputs: dict[str, Path], tmp_path: Path) -> None:
        """With --follow, lines written to the file later (even in two halves) are printed as they complete."""
        log = tmp_path / "app.log"
        source = [line for line in inputs["local"].read_text(encoding="utf-8").splitlines() if '"event"' in line]
        log.write_text(source[0] + "\n", encoding="utf-8")
        process = subprocess.Popen([sys.executable, "-m", "gyrinx_tracker", "tail", "--follow", str(log)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=clean_env(), cwd=ROOT)
        try:
            assert len(_read_lines(process, 1, 30)) == 1
            with log.open("a", encoding="utf-8") as stream:
                half = len(source[-1]) // 2
                stream.write(source[1] + "\n" + source[-1][:half])
                stream.flush()
                os.fsync(stream.fileno())
                assert len(_read_lines(process, 1, 30)) == 1  # the complete line only
                stream.write(source[-1][half:] + "\n")
            (last,) = _read_lines(process, 1, 30)
            assert last.endswith("user_login ×3 method=password")
        finally:
            process.terminate()
            process.wait(10)
            assert process.stdout is not None and process.stderr is not None
            process.stdout.close()
            process.stderr.close()
