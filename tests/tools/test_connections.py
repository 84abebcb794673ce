"""Client connections of a worker (issue #16, items 5, 7 and 8): deadlines, a bound, and
refusals that neither flood the log nor quote a header.

The real caldavd, raw sockets over loopback.  Timings are bounds with slack (the
deadlines are 1-2 s; a failure means "minutes", as before the fix: an hour).
"""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

from tests.tools.test_workers import HOST, HeldPut, Host, StartHost

LIMITS = {"MultiProcessCount": 1, "MaxConnectionsPerWorker": 4, "ReadHeaderTimeOut": 1,
          "IdleConnectionTimeOut": 2}
SLACK = 3.0


def _connect(port: int) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=30)


def _read_until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    sock.settimeout(seconds)
    started, data = time.monotonic(), b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data, time.monotonic() - started


def _health(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    return _health_answer(sock)


def _health_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed; got {data!r}"
        data += chunk
    return data


def _trickle(sock: socket.socket, text: bytes, seconds: float) -> bool:
    """Send ``text`` a byte every 0.1 s for up to ``seconds``; False once the server closed."""
    deadline = time.monotonic() + seconds
    for byte in text:
        if time.monotonic() > deadline:
            break
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return False
        time.sleep(0.1)
    return True


def test_a_head_sent_a_byte_at_a_time_gets_408_after_the_deadline(start_host: StartHost) -> None:
    """RFC 9110 §15.5.9: 408 when the request did not arrive in time; the head has a
    deadline of its own, which a trickle of bytes does not extend."""
    host: Host = start_host(**LIMITS)
    sock = _connect(host.port)
    started = time.monotonic()
    _trickle(sock, b"PROPFIND / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200, 5)
    data, _ = _read_until_closed(sock, 10)
    took = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert 0.9 <= took <= 1 + SLACK, took
    assert "ReadHeaderTimeOut" in host.log.read_text()


def test_idle_connections_are_closed(start_host: StartHost) -> None:
    """RFC 9112 §9.3: an idle connection may be closed; kept alive after an answer or
    never used, it is, after IdleConnectionTimeOut."""
    host: Host = start_host(**LIMITS)
    unused, used = _connect(host.port), _connect(host.port)
    assert _health(used).startswith(b"HTTP/1.1 200 ")
    for sock in (unused, used):
        _, took = _read_until_closed(sock, 10)  # TimeoutError: still open
        assert took <= 2 + SLACK, took


def test_the_connection_bound_makes_room_or_refuses(start_host: StartHost) -> None:
    """At MaxConnectionsPerWorker a newcomer (the load balancer's /health) closes the oldest
    waiting connection; when every connection has a request in progress, 503 with
    Retry-After (RFC 9110 §15.6.4), and the requests in progress are still served."""
    host: Host = start_host(**LIMITS)
    waiting = [_connect(host.port) for _ in range(4)]
    waiting[0].sendall(b"GET /health HTTP/1.1\r\n")  # a head on its way, oldest
    time.sleep(0.3)
    newcomer = _connect(host.port)
    assert _health(newcomer).startswith(b"HTTP/1.1 200 ")
    data, took = _read_until_closed(waiting[0], 5)
    assert data == b"" and took < 0.9, (data, took)  # made room, before any deadline
    for sock in [*waiting, newcomer]:
        sock.close()
    time.sleep(0.3)

    held = [HeldPut(host.port, f"held{i}") for i in range(4)]
    for put in held:
        put.in_handler()
    refused = _connect(host.port)
    data, _ = _read_until_closed(refused, 10)
    head = data.partition(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 503 ") and b"\r\nretry-after: " in head, data
    for put in held:
        put.send(slice(None))
        assert put.status() == 201
    assert "MaxConnectionsPerWorker" in host.log.read_text()


def _garbage(port: int, request: bytes) -> bytes:
    sock = _connect(port)
    try:
        sock.sendall(request)
        return _read_until_closed(sock, 10)[0]
    finally:
        sock.close()


def test_refused_requests_log_one_quiet_line_and_no_header_value(start_host: StartHost,
                                                                 tmp_path: Path) -> None:
    """An Authorization header over aiohttp's 8,190 bytes: 400, and neither the answer nor
    any log holds the password or its Base64 (it used to be an ERROR traceback quoting
    the header's first 100 bytes).  A burst of malformed requests: rate-limited INFO lines,
    no traceback."""
    host: Host = start_host(**LIMITS)
    secret = "user01:" + "user01" * 1500
    token = base64.b64encode(secret.encode())
    answer = _garbage(host.port, b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                      + token + b"\r\n\r\n")
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    assert token[:40] not in answer and b"user01" not in answer
    sock = _connect(host.port)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n"
                 b"Referer: http://user01:user01@elsewhere.example/\r\n\r\n")
    assert _health_answer(sock).startswith(b"HTTP/1.1 200 ")
    sock.close()
    for i in range(60):
        _garbage(host.port, b"GET / HTTP/1.1\r\nBad Header " + str(i).encode() + b"\r\n\r\n")
    time.sleep(1.5)  # the summary line comes when the second is over
    logs = [host.log.read_text(), *(p.read_text(errors="replace")
                                    for p in tmp_path.rglob("*.log"))]
    for text in logs:
        assert token[:40].decode() not in text and "user01user01" not in text
        assert "user01:user01@" not in text
        assert "Traceback" not in text and " ERROR " not in text
    refusals = [line for line in logs[0].splitlines() if "refused a request" in line]
    assert 1 <= len(refusals) <= 20, len(refusals)  # 61 refused in a few seconds
    assert "not logged one by one" in logs[0]
