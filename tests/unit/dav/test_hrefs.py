"""Paths in, hrefs out, and back."""

from __future__ import annotations

import pytest

from caldavd.dav import errors
from caldavd.dav.hrefs import (
    check_new_name,
    decode_path,
    normalise_path,
    quote_path,
    unquote_path,
)


@pytest.mark.parametrize(("path", "href"), [
    ("/calendars/user01/home/", "/calendars/user01/home/"),
    ("/a b/c.ics", "/a%20b/c.ics"),
    ("/é/ü.ics", "/%C3%A9/%C3%BC.ics"),
    ("/what?/#1", "/what%3F/%231"),
    ("/100%/x", "/100%25/x"),
    ("/a@b:c/+,;=!$&'()*~-._", "/a@b:c/+,;=!$&'()*~-._"),
    ('/q"<>/x', "/q%22%3C%3E/x"),
])
def test_quote_path(path: str, href: str) -> None:
    assert quote_path(path) == href
    assert unquote_path(href) == path


def test_unquote_path_drops_scheme_and_authority() -> None:
    assert unquote_path("https://cal.example.com:8443/a%20b/") == "/a b/"


@pytest.mark.parametrize(("path", "normal"), [
    ("/", "/"),
    ("//a///b/", "/a/b/"),
    ("/a/./b", "/a/b"),
    ("/a/b/../c", "/a/c"),
    ("/a/b/..", "/a/"),
    ("/a/.", "/a/"),
    ("/a/b/../..", "/"),
])
def test_normalise_path(path: str, normal: str) -> None:
    assert normalise_path(path) == normal


@pytest.mark.parametrize("path", ["/..", "/a/../../etc/passwd", "/%2e%2e/x", "/a/%2E%2E/%2e%2e/b"])
def test_climbing_above_the_root_is_rejected(path: str) -> None:
    with pytest.raises(errors.BadRequest, match="above the root"):
        decode_path(path)


@pytest.mark.parametrize("href", ["", "relative/path", "x.ics", "http://host"])
def test_relative_or_empty_path_is_rejected(href: str) -> None:
    with pytest.raises(errors.BadRequest, match="absolute path"):
        unquote_path(href)


def test_bad_utf8_is_rejected() -> None:
    with pytest.raises(errors.BadRequest, match="UTF-8"):
        unquote_path("/%ff%fe.ics")


def test_nul_is_rejected() -> None:
    with pytest.raises(errors.BadRequest, match="NUL"):
        unquote_path("/a%00b")


def test_broken_url_is_rejected() -> None:
    with pytest.raises(errors.BadRequest, match="valid URL"):
        unquote_path("http://[::1/x")


HREFS = ["/", "/a/b/", "/a b/c.ics", "/a//b/", "/a/./b", "/a/../b/", "/.well-known/caldav",
         "/cal/.hidden.ics", "/x/y.", "/a?b=1", "/a#frag", "/a\tb", "/a\r\nb/", "//host/a/b",
         "/a:b/c@d", "/%C3%A9/%2F/x", "/a%2e/b", "  /padded/  ", "/日本/😀.ics",
         "http://h/a/./b", "/a/..", "/a;b=c/d", "/cal/ev-00001.ics", "/-a/_b/~c/", "/a/b/..",
         "/a/.", "/a.b/c..d/", "/a&b/c=d!$'()*+,", "/a%41", "/a/b c"]


def reference_unquote(href: str) -> str:
    """``unquote_path`` as it was, through urlsplit every time."""
    from urllib.parse import urlsplit
    return decode_path(urlsplit(href.strip()).path)


def reference_normalise(path: str) -> str:
    kept: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    trailing = path.split("/")[-1] in ("", ".", "..")
    return "/" + "/".join(kept) + ("/" if kept and trailing else "")


@pytest.mark.parametrize("href", HREFS)
def test_unquote_path_fast_path_agrees_with_urlsplit(href: str) -> None:
    assert unquote_path(href) == reference_unquote(href)


@pytest.mark.parametrize("path", [h.strip() for h in HREFS if h.strip().startswith("/")])
def test_normalise_path_fast_path_agrees(path: str) -> None:
    assert normalise_path(path) == reference_normalise(path)


@pytest.mark.parametrize("name", ["a\x00", "\t", "a\nb", "\x1f", "\x7f", "\x85", "\x9f",
                                  "x\ufffe", "\uffff"])
def test_a_new_name_with_a_control_character_is_refused(name: str) -> None:
    with pytest.raises(errors.ValidResourceName):
        check_new_name(name)


@pytest.mark.parametrize("name", ["a b.ics", "é", "\u00a0", "\u200b", "\ue000", "日本.ics",
                                  "x\U0001f600"])
def test_a_new_name_without_one_is_fine(name: str) -> None:
    check_new_name(name)
