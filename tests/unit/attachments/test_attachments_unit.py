"""Pure parts of managed attachments: filenames, rid values, byte ranges (RFC 9110 §14)."""

from __future__ import annotations

import pytest

from caldavd.attachments.errors import UnknownRid
from caldavd.attachments.files import valid_managed_id
from caldavd.attachments.ical import parse_rids, safe_filename
from caldavd.http.attachments import RangeNotSatisfiable, byte_range


@pytest.mark.parametrize(("given", "kept"), [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\x\\plan.doc", "plan.doc"),
    ('a"b\x00c\r\n.txt', "abc.txt"),
    ("..", "attachment"),
    ("", "attachment"),
    (None, "attachment"),
    ("dir/", "attachment"),
    ("ü" * 300, "ü" * 255),
])
def test_safe_filename(given: str | None, kept: str) -> None:
    assert safe_filename(given) == kept


def test_managed_ids_are_hex_tokens_only() -> None:
    assert valid_managed_id("0" * 32)
    for bad in ("", "../x", "0" * 31, "0" * 33, "G" * 32, "0" * 31 + "/"):
        assert not valid_managed_id(bad)


def test_rids() -> None:
    assert parse_rids(None) is None
    assert parse_rids("M,20260107T100000Z, 20260108") == ["M", "20260107T100000Z", "20260108"]
    for bad in ("x", "2026-01-07", "M,,"):
        with pytest.raises(UnknownRid):
            parse_rids(bad)


@pytest.mark.parametrize(("header", "span"), [
    (None, None), ("bytes=0-9", (0, 9)), ("bytes=90-", (90, 99)), ("bytes=-5", (95, 99)),
    ("bytes=50-500", (50, 99)), ("bytes=-500", (0, 99)), ("bytes=0-1,5-6", None),
    ("items=0-1", None), ("bytes=-", None), ("bytes=5-4", None),
])
def test_byte_range(header: str | None, span: tuple[int, int] | None) -> None:
    assert byte_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 100)
