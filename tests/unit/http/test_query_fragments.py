"""The calendar-query answer's ETag-keyed calendar-data fragments."""

from __future__ import annotations

from caldavd.http.reports.query import Fragments, fragments
from caldavd.store import Matches


def test_the_least_recently_used_goes_first() -> None:
    fragments = Fragments(2)
    fragments.add("a", "A")
    fragments.add("b", "B")
    assert fragments.get("a") == "A"  # now b is the oldest
    fragments.add("c", "C")
    assert (fragments.get("a"), fragments.get("b"), fragments.get("c")) == ("A", None, "C")


def test_rows_take_the_known_fragment_else_their_data() -> None:
    matches = Matches(["x.ics", "y.ics"], ["etag-x-1", "etag-y-1"], ["VEVENT", "VEVENT"],
                      [1, 1], [None, "Y&"], [True, False], [1, 2], [None, None])
    assert fragments(matches, [1], {}) == ["<C:calendar-data>Y&amp;</C:calendar-data>"]
    assert fragments(matches, [0, 1], {"etag-x-1": "X"}) == [
        "X", "<C:calendar-data>Y&amp;</C:calendar-data>"]
    assert fragments(matches, [], {}) == []
