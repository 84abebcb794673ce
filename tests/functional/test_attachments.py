"""Managed attachments (RFC 8607) over real HTTP against a real database, with
the files on a real AttachmentsRoot."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path

from icalendar import Calendar

from caldavd.dav import names
from tests.conftest import PgDatabase
from tests.functional.conftest import (
    CAL01,
    HOME01,
    HOME02,
    USER01_UID,
    USER02_UID,
    Dav,
    Reply,
    event,
    serving,
)

EVENT = CAL01 + "with-attachment.ics"
RECURRING = ("RRULE:FREQ=DAILY;COUNT=5\r\n")
OVERRIDE = (
    "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID:20260107T100000Z\r\nDTSTART:20260107T120000Z\r\n"
    "DTEND:20260107T130000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n")


async def add(dav: Dav, path: str, data: bytes, *, filename: str = "notes.txt",
              content_type: str = "text/plain", query: str = "",
              user: str = "user01", headers: Mapping[str, str] | None = None) -> Reply:
    return await dav.request("POST", f"{path}?action=attachment-add{query}", data, user=user,
                             headers={"Content-Type": content_type,
                                      "Content-Disposition": f'attachment;filename="{filename}"',
                                      **(headers or {})})


async def action(dav: Dav, path: str, name: str, managed_id: str, data: bytes | None = None,
                 query: str = "") -> Reply:
    return await dav.request("POST", f"{path}?action={name}&managed-id={managed_id}{query}",
                             data, headers={"Content-Type": "application/pdf",
                                            "Content-Disposition": "attachment;filename=v2.pdf"})


async def put_event(dav: Dav, path: str = EVENT, uid: str = "att-1", extra: str = "",
                    more: str = "") -> None:
    ics = event(uid, extra=extra)
    if more:
        ics = ics.replace("END:VCALENDAR", more.format(uid=uid) + "END:VCALENDAR")
    reply = await dav.put(path, ics)
    assert reply.status in (201, 204), reply.body


async def attaches(dav: Dav, path: str = EVENT, user: str = "user01") -> list[dict[str, str]]:
    """The ATTACH properties of every component, as parameters plus the value."""
    reply = await dav.request("GET", path, user=user)
    assert reply.status == 200
    found = []
    for component in Calendar.from_ical(reply.body).walk("VEVENT"):
        values = component.get("ATTACH", [])
        for value in values if isinstance(values, list) else [values]:
            found.append({**{k: str(v) for k, v in value.params.items()}, "url": str(value)})
    return found


async def usage(dav: Dav) -> int:
    reply = await dav.propfind(HOME01, names.QUOTA_USED_BYTES)
    return int(reply.texts(".//D:quota-used-bytes")[0])


def attachment_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_discovery_token_and_properties(dav: Dav) -> None:
    """OPTIONS names calendar-managed-attachments; the home carries the three properties."""
    reply = await dav.request("OPTIONS", HOME01)
    assert "calendar-managed-attachments" in reply.headers["DAV"]
    reply = await dav.propfind(HOME01, names.MANAGED_ATTACHMENTS_SERVER_URL,
                               names.MAX_ATTACHMENT_SIZE, names.MAX_ATTACHMENTS_PER_RESOURCE)
    assert reply.texts(".//C:max-attachment-size") == ["10485760"]
    assert reply.texts(".//C:max-attachments-per-resource") == ["20"]
    server_url = reply.find(".//C:managed-attachments-server-URL")
    assert server_url is not None and server_url.findtext("D:href", namespaces={
        "D": "DAV:"}) in ("", None)


async def test_add_fetch_remove(pg_database: PgDatabase, tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path) as dav:
        await put_event(dav)
        before = await usage(dav)
        reply = await add(dav, EVENT, b"hello attachments", filename="notes.txt")
        assert reply.status == 201, reply.body
        managed_id = reply.headers["Cal-Managed-ID"]
        location = reply.headers["Location"]
        assert location.endswith(f"/attachments/{managed_id}")

        [attach] = await attaches(dav)
        assert attach == {"MANAGED-ID": managed_id, "FILENAME": "notes.txt", "SIZE": "17",
                          "FMTTYPE": "text/plain", "url": location}
        got = await dav.request("GET", attachment_path(location))
        assert got.status == 200 and got.body == b"hello attachments"
        assert got.headers["Content-Type"].startswith("text/plain")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert "notes.txt" in got.headers["Content-Disposition"]
        assert got.headers["ETag"].startswith('"')
        again = await dav.request("GET", attachment_path(location),
                                  headers={"If-None-Match": got.headers["ETag"]})
        assert again.status == 304
        # RFC 4331: the quota counts attachment bytes.
        assert await usage(dav) >= before + 17
        stored = files_under(tmp_path / "Data" / "Attachments")
        assert [p.name for p in stored] == [managed_id]

        reply = await action(dav, EVENT, "attachment-remove", managed_id)
        assert reply.status == 204, reply.body
        assert await attaches(dav) == []
        assert (await dav.request("GET", attachment_path(location))).status == 404
        assert files_under(tmp_path / "Data" / "Attachments") == []
        assert await usage(dav) == before


async def test_update_replaces_with_new_managed_id(dav: Dav) -> None:
    await put_event(dav)
    first = await add(dav, EVENT, b"version 1")
    old_id = first.headers["Cal-Managed-ID"]
    reply = await action(dav, EVENT, "attachment-update", old_id, b"%PDF version 2")
    assert reply.status == 204, reply.body
    new_id = reply.headers["Cal-Managed-ID"]
    assert new_id != old_id
    [attach] = await attaches(dav)
    assert (attach["MANAGED-ID"], attach["FILENAME"], attach["FMTTYPE"], attach["SIZE"]) == (
        new_id, "v2.pdf", "application/pdf", "14")
    assert (await dav.request("GET", f"/attachments/{old_id}")).status == 404
    got = await dav.request("GET", f"/attachments/{new_id}")
    assert got.body == b"%PDF version 2"


async def test_prefer_return_representation(dav: Dav) -> None:
    await put_event(dav)
    reply = await add(dav, EVENT, b"x", headers={"Prefer": "return=representation"})
    assert reply.status == 201
    assert reply.headers["Cal-Managed-ID"].encode() in reply.body.replace(b"\r\n ", b"")
    current = await dav.request("GET", EVENT)
    assert reply.headers["ETag"] == current.headers["ETag"]


async def test_rid_selects_instances(dav: Dav) -> None:
    """rid names components by RECURRENCE-ID ('M' the master)."""
    await put_event(dav, extra=RECURRING, more=OVERRIDE)
    reply = await add(dav, EVENT, b"only the override", query="&rid=20260107T100000Z")
    assert reply.status == 201, reply.body
    got = await dav.request("GET", EVENT)
    components = Calendar.from_ical(got.body).walk("VEVENT")
    assert [c.get("RECURRENCE-ID") is not None for c in components if "ATTACH" in c] == [True]
    reply = await add(dav, EVENT, b"everywhere")
    assert reply.status == 201
    assert len(await attaches(dav)) == 3
    reply = await action(dav, EVENT, "attachment-remove", reply.headers["Cal-Managed-ID"],
                         query="&rid=M")
    assert reply.status == 204
    assert len(await attaches(dav)) == 2


async def test_rid_of_an_instance_not_yet_overridden(dav: Dav) -> None:
    """The instance gets an override of its own carrying the attachment; a rid that is
    no instance of the event is refused."""
    await put_event(dav, extra=RECURRING)
    reply = await add(dav, EVENT, b"for the third day", query="&rid=20260107T100000Z")
    assert reply.status == 201, reply.body
    got = Calendar.from_ical((await dav.request("GET", EVENT)).body)
    master, override = got.walk("VEVENT")
    assert "ATTACH" not in master and "RRULE" in master
    assert override.get("RECURRENCE-ID").to_ical() == b"20260107T100000Z"
    assert override.get("DTSTART").to_ical() == b"20260107T100000Z"
    assert override["ATTACH"].params["MANAGED-ID"] == reply.headers["Cal-Managed-ID"]
    assert "RRULE" not in override
    missing = await add(dav, EVENT, b"x", query="&rid=20260107T110000Z")
    assert (missing.status, missing.error()) == (403, names.VALID_RID_PARAMETER)
    removed = await action(dav, EVENT, "attachment-remove", reply.headers["Cal-Managed-ID"],
                           query="&rid=20260107T100000Z")
    assert removed.status == 204
    assert await attaches(dav) == []


async def test_range_requests(dav: Dav) -> None:
    await put_event(dav)
    data = bytes(range(256)) * 40
    location = (await add(dav, EVENT, data, content_type="application/octet-stream")
                ).headers["Location"]
    path = attachment_path(location)
    part = await dav.request("GET", path, headers={"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = await dav.request("GET", path, headers={"Range": "bytes=-10"})
    assert tail.status == 206 and tail.body == data[-10:]
    rest = await dav.request("GET", path, headers={"Range": f"bytes={len(data) - 5}-"})
    assert rest.body == data[-5:]
    beyond = await dav.request("GET", path, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    # If-Range with another validator: the whole content (RFC 9110 §13.1.5).
    whole = await dav.request("GET", path, headers={"Range": "bytes=0-0", "If-Range": '"x"'})
    assert whole.status == 200 and whole.body == data
    head = await dav.request("HEAD", path)
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(data))


async def test_html_is_never_served_inline(dav: Dav) -> None:
    await put_event(dav)
    location = (await add(dav, EVENT, b"<script>alert(1)</script>", filename="page.html",
                          content_type="text/html")).headers["Location"]
    got = await dav.request("GET", attachment_path(location))
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"


async def test_limits(pg_database: PgDatabase, tmp_path: Path) -> None:
    """RFC 8607 max-attachment-size and max-attachments-per-resource; RFC 4331
    quota-not-exceeded.  A refusal leaves no file and no row."""
    async with serving(pg_database, tmp_path, MaximumAttachmentSize=1000,
                       MaximumAttachmentsPerInstance=2, UserQuota=6000) as dav:
        await put_event(dav)
        big = await add(dav, EVENT, b"x" * 1001)
        assert (big.status, big.error()) == (403, names.MAX_ATTACHMENT_SIZE)

        async def chunked() -> object:
            for _ in range(3):
                yield b"y" * 500
        streamed = await dav.request("POST", f"{EVENT}?action=attachment-add",
                                     chunked(), headers={"Content-Type": "text/plain"})  # type: ignore[arg-type]
        assert (streamed.status, streamed.error()) == (403, names.MAX_ATTACHMENT_SIZE)

        for _ in range(2):
            assert (await add(dav, EVENT, b"z" * 10)).status == 201
        third = await add(dav, EVENT, b"z" * 10)
        assert (third.status, third.error()) == (403, names.MAX_ATTACHMENTS_PER_RESOURCE)

        for n in range(6):
            reply = await put_quota_event(dav, n)
            if reply.status != 201:
                break
        over = await add(dav, CAL01 + "q0.ics", b"q" * 1000)
        assert (over.status, over.error()) == (507, names.QUOTA_NOT_EXCEEDED)
        assert len(files_under(tmp_path / "Data" / "Attachments")) == 2
        assert await rows(pg_database) == 2


async def test_full_quota_refuses_a_streamed_upload_before_reading_it(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """RFC 4331: with the quota used up to the byte, an upload without Content-Length is
    refused at once; the server does not first read the body (here: one that never ends)."""
    async with serving(pg_database, tmp_path) as dav:
        await put_event(dav)
        used = await usage(dav)
    async with serving(pg_database, tmp_path, UserQuota=used) as dav:
        async def endless() -> object:
            yield b"x" * 1000
            await asyncio.Event().wait()  # the rest of the body never comes
        reply = await asyncio.wait_for(
            dav.request("POST", f"{EVENT}?action=attachment-add", endless(),  # type: ignore[arg-type]
                        headers={"Content-Type": "text/plain"}), 30)
        assert (reply.status, reply.error()) == (507, names.QUOTA_NOT_EXCEEDED)
        assert await rows(pg_database) == 0
        assert files_under(tmp_path / "Data" / "Attachments") == []


async def put_quota_event(dav: Dav, n: int) -> Reply:
    return await dav.put(CAL01 + f"q{n}.ics", event(f"q{n}", summary="q" * 900))


async def rows(db: PgDatabase) -> int:
    conn = await db.connect()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM attachment"))
    finally:
        await conn.close()


async def test_hostile_input(dav: Dav, tmp_path: Path) -> None:
    await put_event(dav)
    reply = await add(dav, EVENT, b"evil", filename="../../../etc/passwd")
    assert reply.status == 201
    [attach] = await attaches(dav)
    assert attach["FILENAME"] == "passwd"
    stored = files_under(tmp_path / "Data" / "Attachments")
    assert [p.name for p in stored] == [attach["MANAGED-ID"]]
    assert not (tmp_path / "etc").exists()

    cases = [
        (f"{EVENT}?action=attachment-remove&managed-id=../../etc", 403,
         names.VALID_MANAGED_ID_PARAMETER),
        (f"{EVENT}?action=attachment-remove&managed-id={'0' * 32}", 403,
         names.VALID_MANAGED_ID_PARAMETER),
        (f"{EVENT}?action=attachment-update", 403, names.VALID_MANAGED_ID_PARAMETER),
        (f"{EVENT}?action=attachment-add&rid=notadate", 403, names.VALID_RID_PARAMETER),
        (f"{EVENT}?action=attachment-add&rid=20300101T000000Z", 403, names.VALID_RID_PARAMETER),
        (f"{EVENT}?action=attachment-delete", 403, names.VALID_ACTION_PARAMETER),
        (EVENT, 403, names.VALID_ACTION_PARAMETER),
    ]
    for path, status, condition in cases:
        got = await dav.request("POST", path, b"data")
        assert (got.status, got.error()) == (status, condition), path
    assert (await dav.request("POST", CAL01 + "missing.ics?action=attachment-add",
                              b"x")).status == 404
    assert (await dav.request("POST", CAL01 + "?action=attachment-add", b"x")).status == 405
    url = attachment_path(attach["url"])
    for method in ("PUT", "DELETE", "PROPFIND", "POST"):
        got = await dav.request(method, url, b"x")
        assert got.status == 405 and "GET" in got.headers["Allow"], method
    for bad in ("/attachments/../etc/passwd", "/attachments/", "/attachments/%2e%2e%2fx",
                "/attachments/" + "f" * 32):
        assert (await dav.request("GET", bad)).status == 404, bad
    # Another user may not read it.
    other = await dav.request("GET", url, user="user02")
    assert (other.status, other.error()) == (403, names.NEED_PRIVILEGES)
    assert len(files_under(tmp_path / "Data" / "Attachments")) == 1


async def test_delegates_read_attachments(dav: Dav) -> None:
    """A read delegate (calendar-proxy-read) of the owner reads them; others do not."""
    await put_event(dav)
    path = attachment_path((await add(dav, EVENT, b"for my delegate")).headers["Location"])
    assert (await dav.request("GET", path, user="user02")).status == 403
    group = f"/principals/__uids__/{USER01_UID}/calendar-proxy-read/"
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            f"<D:group-member-set><D:href>/principals/__uids__/{USER02_UID}/</D:href>"
            "</D:group-member-set></D:prop></D:set></D:propertyupdate>")
    assert (await dav.request("PROPPATCH", group, body)).status == 207
    got = await dav.request("GET", path, user="user02")
    assert got.status == 200 and got.body == b"for my delegate"
    assert (await dav.request("GET", path, user="user03")).status == 403
    # Reading is not writing.
    denied = await add(dav, EVENT, b"x", user="user02")
    assert (denied.status, denied.error()) == (403, names.NEED_PRIVILEGES)


async def test_copy_shares_the_attachment(pg_database: PgDatabase, tmp_path: Path) -> None:
    """A delegate COPYs the delegator's event into its own home (inside one home the UID
    rule refuses a COPY): both events carry one attachment, which stays until both go."""
    root = tmp_path / "Data" / "Attachments"
    async with serving(pg_database, tmp_path) as dav:
        await put_event(dav)
        managed_id = (await add(dav, EVENT, b"shared by copy")).headers["Cal-Managed-ID"]
        group = f"/principals/__uids__/{USER01_UID}/calendar-proxy-read/"
        body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
                f"<D:group-member-set><D:href>/principals/__uids__/{USER02_UID}/</D:href>"
                "</D:group-member-set></D:prop></D:set></D:propertyupdate>")
        assert (await dav.request("PROPPATCH", group, body)).status == 207
        copy = HOME02 + "calendar/copied.ics"
        reply = await dav.request("COPY", EVENT, user="user02",
                                  headers={"Destination": dav.base + copy})
        assert reply.status == 201, reply.body
        assert [a["MANAGED-ID"] for a in await attaches(dav, copy, user="user02")] == [
            managed_id]
        assert len(files_under(root)) == 1 and await rows(pg_database) == 1

        assert (await dav.request("DELETE", EVENT)).status == 204
        got = await dav.request("GET", f"/attachments/{managed_id}", user="user02")
        assert got.status == 200 and got.body == b"shared by copy"
        assert (await dav.request("DELETE", copy, user="user02")).status == 204
        assert (await dav.request("GET", f"/attachments/{managed_id}",
                                  user="user02")).status == 404
        assert files_under(root) == [] and await rows(pg_database) == 0


async def test_put_with_unknown_managed_id(dav: Dav) -> None:
    extra = f"ATTACH;MANAGED-ID={'a' * 32};FILENAME=x:https://elsewhere/x\r\n"
    reply = await dav.put(EVENT, event("forged", extra=extra))
    assert (reply.status, reply.error()) == (403, names.VALID_MANAGED_ID)
    assert (await dav.request("GET", EVENT)).status == 404


async def test_lifecycle_shared_and_collected(pg_database: PgDatabase, tmp_path: Path) -> None:
    """An event PUT with another's ATTACH shares the attachment; it goes when the last
    event that carries it is deleted or drops it."""
    root = tmp_path / "Data" / "Attachments"
    async with serving(pg_database, tmp_path) as dav:
        await put_event(dav)
        managed_id = (await add(dav, EVENT, b"shared")).headers["Cal-Managed-ID"]
        original = (await dav.request("GET", EVENT)).body.decode()
        copy = original.replace("UID:att-1", "UID:att-2")
        assert (await dav.put(CAL01 + "copy.ics", copy)).status == 201

        assert (await dav.request("DELETE", EVENT)).status == 204
        assert (await dav.request("GET", f"/attachments/{managed_id}")).status == 200
        # The copy drops its ATTACH in a plain PUT: nothing refers to it any more.
        assert (await dav.put(CAL01 + "copy.ics", event("att-2"))).status == 204
        assert (await dav.request("GET", f"/attachments/{managed_id}")).status == 404
        assert files_under(root) == []

        await put_event(dav, uid="att-3")
        managed_id = (await add(dav, EVENT, b"goes with the event")).headers["Cal-Managed-ID"]
        assert (await dav.request("DELETE", EVENT)).status == 204
        assert (await dav.request("GET", f"/attachments/{managed_id}")).status == 404
        assert files_under(root) == []
        assert await rows(pg_database) == 0


async def test_delete_calendar_collects(pg_database: PgDatabase, tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path) as dav:
        assert (await dav.request("MKCALENDAR", HOME01 + "extra/")).status == 201
        path = HOME01 + "extra/e.ics"
        await put_event(dav, path=path, uid="in-extra")
        assert (await add(dav, path, b"data")).status == 201
        assert (await dav.request("DELETE", HOME01 + "extra/")).status == 204
        assert files_under(tmp_path / "Data" / "Attachments") == []
        assert await rows(pg_database) == 0


def test_layout_spreads_over_directories() -> None:
    from caldavd.attachments.files import new_managed_id, path_for
    managed_id = new_managed_id()
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}", path_for(managed_id))
    assert path_for(managed_id).endswith(managed_id)
