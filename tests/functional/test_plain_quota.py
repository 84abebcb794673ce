"""Plain WebDAV files count in the home's quota (a sibling of issue 16 item 2).

With UserQuota=1000, three PUTs of 5,000-byte files were all 201: plain files were
outside the quota.  Every write of a file is now held to it (RFC 4331 §6: 507 with
DAV:quota-not-exceeded, nothing written), and quota-used-bytes counts files (§3)."""

from __future__ import annotations

from pathlib import Path

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, HOME01, Dav, event, serving

DIR = HOME01 + "files/"
FILE = "x" * 5000


async def _quota(dav: Dav) -> tuple[int, int]:
    """quota-used-bytes and quota-available-bytes of the home (RFC 4331 §3, §4)."""
    reply = await dav.propfind(HOME01, names.QUOTA_USED_BYTES, names.QUOTA_AVAILABLE_BYTES)
    return (int(reply.texts(".//D:quota-used-bytes")[0]),
            int(reply.texts(".//D:quota-available-bytes")[0]))


async def test_a_put_past_the_quota_is_507_and_a_delete_frees_the_space(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, UserQuota=12000) as dav:
        used, _ = await _quota(dav)
        assert (await dav.request("MKCOL", DIR)).status == 201
        assert (await dav.request("PUT", DIR + "a", FILE)).status == 201
        assert (await dav.request("PUT", DIR + "b", FILE)).status == 201
        assert await _quota(dav) == (used + 10000, 12000 - used - 10000)
        reply = await dav.request("PUT", DIR + "c", FILE)
        assert reply.status == 507 and reply.error() == names.QUOTA_NOT_EXCEEDED, reply.body
        assert (await dav.request("GET", DIR + "c")).status == 404
        replaced = await dav.request("PUT", DIR + "a", FILE * 2)
        assert replaced.status == 507, replaced.body
        assert (await dav.request("GET", DIR + "a")).body == FILE.encode()
        assert (await _quota(dav))[0] == used + 10000
        assert (await dav.request("DELETE", DIR + "a")).status == 204
        assert (await _quota(dav))[0] == used + 5000
        assert (await dav.request("PUT", DIR + "c", FILE)).status == 201


async def test_a_copy_past_the_quota_is_refused_whole(pg_database: PgDatabase,
                                                      tmp_path: Path) -> None:
    """RFC 4918 §9.8.5 (507): a COPY of a folder of files, or of an object into a folder,
    that would not fit copies nothing; a MOVE in the home adds nothing and goes through."""
    async with serving(pg_database, tmp_path, UserQuota=16000) as dav:
        assert (await dav.request("MKCOL", DIR)).status == 201
        for name in ("a", "b"):
            assert (await dav.request("PUT", DIR + name, FILE)).status == 201
        used, _ = await _quota(dav)
        reply = await dav.request("COPY", DIR, headers={"Destination": dav.base + HOME01
                                                        + "copy/"})
        assert reply.status == 507 and reply.error() == names.QUOTA_NOT_EXCEEDED, reply.body
        assert (await dav.propfind(HOME01 + "copy/", names.RESOURCETYPE)).status == 404
        assert (await dav.propfind(HOME01 + "copy/a", names.RESOURCETYPE)).status == 404
        assert (await _quota(dav))[0] == used
        one = await dav.request("COPY", DIR + "a", headers={"Destination": dav.base + DIR + "c"})
        assert one.status == 201, one.body
        assert (await _quota(dav))[0] == used + 5000
        moved = await dav.request("MOVE", DIR, headers={"Destination": dav.base + HOME01
                                                        + "moved/"})
        assert moved.status == 201, moved.body
        assert (await _quota(dav))[0] == used + 5000
        available = (await _quota(dav))[1]
        # A calendar object copied into a folder becomes a file there, held to the quota.
        summary = "s" * (available * 3 // 5 - len(event("e", summary="")))
        stored = await dav.request("PUT", CAL01 + "e.ics", event("e", summary=summary),
                                   headers={"Content-Type": "text/calendar"})
        assert stored.status == 201, stored.body
        reply = await dav.request("COPY", CAL01 + "e.ics",
                                  headers={"Destination": dav.base + HOME01 + "moved/e.ics"})
        assert reply.status == 507 and reply.error() == names.QUOTA_NOT_EXCEEDED, reply.body
        assert (await dav.request("GET", HOME01 + "moved/e.ics")).status == 404


async def test_a_move_between_a_folder_and_a_calendar_of_a_full_home_goes_through(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """A MOVE frees its source once the destination is written: in one home it adds
    nothing, so RFC 4331 §6 does not refuse it even with less room left than it moves.
    Before, the destination was held to the quota with the source still counted (507)."""
    async with serving(pg_database, tmp_path, UserQuota=8000) as dav:
        assert (await dav.request("MKCOL", DIR)).status == 201
        text = event("e", summary="s" * 4000)
        assert (await dav.request("PUT", DIR + "e.ics", text,
                                  headers={"Content-Type": "text/calendar"})).status == 201
        assert (await dav.request("PUT", DIR + "pad", "p" * 2000)).status == 201
        used, available = await _quota(dav)
        assert available < len(text)
        into = await dav.request("MOVE", DIR + "e.ics",
                                 headers={"Destination": dav.base + CAL01 + "e.ics"})
        assert into.status == 201, into.body
        assert (await dav.request("GET", DIR + "e.ics")).status == 404
        back = await dav.request("MOVE", CAL01 + "e.ics",
                                 headers={"Destination": dav.base + DIR + "back.ics"})
        assert back.status == 201, back.body
        assert (await dav.request("GET", CAL01 + "e.ics")).status == 404
        assert (await _quota(dav))[0] == used
        # A COPY adds what it copies, and is refused.
        copy = await dav.request("COPY", DIR + "back.ics",
                                 headers={"Destination": dav.base + CAL01 + "e.ics"})
        assert copy.status == 507 and copy.error() == names.QUOTA_NOT_EXCEEDED, copy.body
