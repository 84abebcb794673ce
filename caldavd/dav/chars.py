"""Characters XML 1.0 can carry: the one place every string bound for XML output passes.

XML 1.0 §2.2 allows TAB, LF, CR and everything from U+0020 except surrogates,
U+FFFE and U+FFFF.  Whatever reaches an answer from a client or from stored
data (an error message echoing a body, a calendar object stored before PUT
refused control characters, a directory record's name) goes through
``xml_chars`` on its way into an element, an attribute or a comment, so no
answer can fail to serialise: each character XML cannot carry becomes U+FFFD
(the Unicode replacement character), and the answer is still given.

Logs are the other place client text goes: ``log_text`` writes every control
character as an escape (Apache's ``\\xhh``, ``\\n``, ``\\r``, ``\\t``), so a
request cannot start a line of its own in a log nor send a terminal escape
sequence to whoever reads it.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_chars(text: str) -> str:
    """``text`` with each character XML 1.0 cannot carry replaced by U+FFFD."""
    if text.isprintable():  # no control, surrogate or noncharacter: the common case
        return text
    return _NOT_XML.sub(REPLACEMENT, text)


def is_xml_chars(text: str) -> bool:
    """Whether XML 1.0 can carry ``text`` as it is."""
    return text.isprintable() or _NOT_XML.search(text) is None


def comment_text(text: str) -> str:
    """``text`` as the content of an XML comment: ``--`` cannot occur in one, nor can
    it end with ``-`` (XML 1.0 §2.5); padded with a space at each end."""
    return " " + xml_chars(text).replace("--", "- -") + " "


def log_text(text: str) -> str:
    """``text`` for a log line: backslash doubled, every control character escaped."""
    text = text.replace("\\", "\\\\")
    if text.isprintable():
        return text
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\x{ord(char):02x}"
