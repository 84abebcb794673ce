"""No test password in any log the test run's servers write (issue #16, item 7).

The sample accounts' passwords travel as Basic credentials, so what would leak is
their Base64 form (``dXNlcjAxOnVzZXIwMQ==`` for user01:user01) or its start (aiohttp
used to log a header's first 100 bytes).  ``scan`` reads every log-like file under a
directory: the session fixture in tests/conftest.py scans pytest's temporary
directories at the end, and ``tests.tools.helpers.remove_tree`` scans the /tmp
directories the tests remove themselves.  A client's own files (litmus writes every
request it sends, credentials included, to ``debug.log``) are not the server's logs:
a directory made with ``client_dir`` is left out.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

ACCOUNTS = [f"user{n:02d}" for n in range(1, 11)]
# The first 16 Base64 characters encode "userNN:userN": present in any prefix of the
# header value long enough to matter, and in nothing else a test writes.
MARKERS = {base64.b64encode(f"{name}:{name}".encode()).decode()[:16]: name for name in ACCOUNTS}
_LOG_NAME = re.compile(r"(\.(log|out|err)(\.\d+)?|stderr|stdout)$")
FOUND: list[str] = []
CLIENT_MARKER = ".client-files"


def client_dir(path: Path) -> Path:
    """Make ``path`` as a client's working directory, which ``scan`` skips."""
    path.mkdir(parents=True, exist_ok=True)
    (path / CLIENT_MARKER).touch()
    return path


def _in_client_dir(path: Path, root: Path) -> bool:
    return any((parent / CLIENT_MARKER).exists()
               for parent in path.parents if parent.is_relative_to(root))


def leaks_in(text: str) -> list[str]:
    return [f"{marker} ({MARKERS[marker]}'s Basic credentials)"
            for marker in MARKERS if marker in text]


def scan(root: Path) -> list[str]:
    """Every leak found in the logs under ``root`` (also kept in ``FOUND``)."""
    found: list[str] = []
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        if not _LOG_NAME.search(path.name) or not path.is_file():
            continue
        if _in_client_dir(path, root):
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        found.extend(f"{path}: {leak}" for leak in leaks_in(text))
    FOUND.extend(found)
    return found
