"""One access-log line into an AccessRecord: every field, every way a line may end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from caldavd.ops.logparse import UnparsableLine, parse_line

FULL = ('127.0.0.1 - user01 [01/Dec/2026:20:48:08 +0000] '
        '"REPORT /calendars/__uids__/u1/calendar/ HTTP/1.1" 207 1234 "-" '
        '"DAVx5/4.3 (dav4jvm)" 12.84 node=host1 w=2 in=345 type=calendar-multiget depth=1 '
        'cache=miss db=3.10\n')


def test_every_field_of_a_full_line() -> None:
    record = parse_line(FULL)
    assert record.remote == "127.0.0.1"
    assert record.user == "user01"
    assert record.time == datetime(2026, 12, 1, 20, 48, 8, tzinfo=UTC)
    assert record.request == "REPORT /calendars/__uids__/u1/calendar/ HTTP/1.1"
    assert (record.method, record.target, record.protocol) == (
        "REPORT", "/calendars/__uids__/u1/calendar/", "HTTP/1.1")
    assert (record.status, record.size) == (207, 1234)
    assert record.referer is None
    assert record.agent == "DAVx5/4.3 (dav4jvm)"
    assert record.ms == 12.84
    assert (record.node, record.worker, record.body_bytes) == ("host1", 2, 345)
    assert (record.type, record.depth, record.cache) == ("calendar-multiget", "1", "miss")
    assert record.db_ms == 3.10
    assert record.extras == {}


def test_extras_in_any_order_and_unknown_keys_kept() -> None:
    line = FULL.replace("node=host1 w=2 in=345 type=calendar-multiget depth=1 cache=miss db=3.10",
                        "db=0.5 trace=ab12 cache=hit node=h2 future=x=y depth=infinity flag")
    record = parse_line(line)
    assert (record.node, record.cache, record.depth, record.db_ms) == ("h2", "hit", "infinity",
                                                                       0.5)
    assert record.worker is None and record.body_bytes is None and record.type is None
    assert record.extras == {"trace": "ab12", "future": "x=y", "flag": ""}


def test_dashes_and_badly_typed_known_extras_are_absent_not_fatal() -> None:
    line = FULL.replace("node=host1 w=2 in=345 type=calendar-multiget depth=1 cache=miss db=3.10",
                        "node=- w=two in=-5 type=- depth=- cache=- db=nan")
    record = parse_line(line)
    assert record.status == 207
    assert (record.node, record.worker, record.body_bytes, record.type, record.depth,
            record.cache, record.db_ms) == (None,) * 7


def test_older_lines_without_extras_and_without_milliseconds() -> None:
    no_extras = parse_line('10.1.2.3 - - [01/Dec/2026:20:48:08 +0000] "GET /health HTTP/1.1" '
                           '200 2 "-" "curl/8.0" 1.84')
    assert no_extras.ms == 1.84 and no_extras.user is None
    assert no_extras.node is None and no_extras.cache is None and no_extras.extras == {}
    oldest = parse_line('::1 - user02 [01/Dec/2026:20:48:08 +0000] "PUT /c/a.ics HTTP/1.1" '
                        '201 - "https://example.com/x" "-"')
    assert oldest.remote == "::1"
    assert oldest.ms is None and oldest.size is None and oldest.agent is None
    assert oldest.referer == "https://example.com/x"
    assert (oldest.method, oldest.status) == ("PUT", 201)


def test_escaped_quotes_and_backslashes_in_request_and_user_agent() -> None:
    line = ('127.0.0.1 - u [01/Dec/2026:20:48:08 +0000] '
            r'"GET /a\"b\\c\x41 HTTP/1.1" 404 0 "-" "Odd \"Client\"/1.0 \\o/" 0.40 node=n')
    record = parse_line(line)
    assert record.target == '/a"b\\cA'
    assert record.request == 'GET /a"b\\cA HTTP/1.1'
    assert record.agent == 'Odd "Client"/1.0 \\o/'
    assert record.ms == 0.40 and record.node == "n"


def test_a_request_line_that_is_not_three_words() -> None:
    record = parse_line('127.0.0.1 - - [01/Dec/2026:20:48:08 +0000] "\\x16\\x03\\x01" '
                        '400 0 "-" "-" 0.10')
    assert record.method == "-"
    assert record.target == "\x16\x03\x01"
    assert record.status == 400


def test_any_timezone_offset() -> None:
    west = parse_line(FULL.replace("+0000", "-0530"))
    assert west.time.utcoffset() == -timedelta(hours=5, minutes=30)
    assert west.time == datetime(2026, 12, 2, 2, 18, 8, tzinfo=UTC)
    east = parse_line(FULL.replace("+0000", "+0100"))
    assert east.time.tzinfo == timezone(timedelta(hours=1))
    assert east.time == datetime(2026, 12, 1, 19, 48, 8, tzinfo=UTC)


@pytest.mark.parametrize("line", [
    "",
    "garbage",
    "\x00\x01\x02",
    FULL[:60],
    FULL.replace("[01/Dec/2026:20:48:08 +0000]", "[01/Dex/2026:20:48:08 +0000]"),
    FULL.replace("[01/Dec/2026:20:48:08 +0000]", "[32/Dec/2026:20:48:08 +0000]"),
    FULL.replace("+0000", "UTC"),
    FULL.replace(" 207 ", " 2x7 "),
    FULL.replace('"-" "DAVx5', '"-" DAVx5'),
    FULL.replace(" 12.84 ", " fast "),
])
def test_garbage_is_unparsable_line(line: str) -> None:
    with pytest.raises(UnparsableLine):
        parse_line(line)
