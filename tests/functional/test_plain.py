"""Plain WebDAV files and folders in a home (RFC 4918): what litmus exercises."""

from __future__ import annotations

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, NS, Dav

DIR = HOME01 + "litmus/"


async def _mkdir(dav: Dav, path: str = DIR) -> None:
    assert (await dav.request("MKCOL", path)).status == 201


async def test_put_get_delete_a_file(dav: Dav) -> None:
    await _mkdir(dav)
    created = await dav.request("PUT", DIR + "f.txt", "hello",
                                headers={"Content-Type": "text/plain"})
    assert created.status == 201
    got = await dav.request("GET", DIR + "f.txt")
    assert got.status == 200 and got.body == b"hello"
    assert got.headers["ETag"] == created.headers["ETag"]
    assert got.headers["Content-Disposition"] == "attachment"
    assert (await dav.request("PUT", DIR + "f.txt", "again")).status == 204
    assert (await dav.request("DELETE", DIR + "f.txt")).status == 204
    assert (await dav.request("GET", DIR + "f.txt")).status == 404
    assert (await dav.request("DELETE", DIR + "f.txt")).status == 404


async def test_put_without_parent_is_409(dav: Dav) -> None:
    assert (await dav.request("PUT", HOME01 + "nowhere/f.txt", "x")).status == 409
    assert (await dav.request("MKCOL", HOME01 + "nowhere/sub/")).status == 409


async def test_depth_1_lists_members_and_folders_nest(dav: Dav) -> None:
    await _mkdir(dav)
    await _mkdir(dav, DIR + "sub/")
    assert (await dav.request("PUT", DIR + "a.txt", "a")).status == 201
    assert (await dav.request("PUT", DIR + "sub/b.txt", "b")).status == 201
    listing = await dav.propfind(DIR, names.RESOURCETYPE, names.GETCONTENTLENGTH, depth="1")
    assert set(listing.responses()) == {DIR, DIR + "a.txt", DIR + "sub/"}
    home = await dav.propfind(HOME01, names.RESOURCETYPE, depth="1")
    assert DIR in home.responses() and CAL01 in home.responses()


async def test_copy_and_move_folders_with_properties(dav: Dav) -> None:
    await _mkdir(dav)
    await _mkdir(dav, DIR + "src/")
    assert (await dav.request("PUT", DIR + "src/x.txt", "x")).status == 201
    patch = """<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>
      <Z:tag>kept</Z:tag></D:prop></D:set></D:propertyupdate>"""
    assert (await dav.request("PROPPATCH", DIR + "src/x.txt", patch)).status == 207
    copied = await dav.request("COPY", DIR + "src/",
                               headers={"Destination": dav.base + DIR + "dst/"})
    assert copied.status == 201
    assert (await dav.request("GET", DIR + "dst/x.txt")).body == b"x"
    props = await dav.propfind(DIR + "dst/x.txt", "{urn:z}tag")
    assert props.texts(".//{urn:z}tag") == ["kept"]
    again = await dav.request("COPY", DIR + "src/", headers={
        "Destination": dav.base + DIR + "dst/", "Overwrite": "F"})
    assert again.status == 412
    moved = await dav.request("MOVE", DIR + "src/",
                              headers={"Destination": dav.base + DIR + "moved/"})
    assert moved.status == 201
    assert (await dav.request("GET", DIR + "src/x.txt")).status == 404
    assert (await dav.propfind(DIR + "moved/x.txt", "{urn:z}tag")).texts(".//{urn:z}tag") \
        == ["kept"]


async def test_shallow_copy_of_a_folder(dav: Dav) -> None:
    await _mkdir(dav)
    await _mkdir(dav, DIR + "deep/")
    assert (await dav.request("PUT", DIR + "deep/x.txt", "x")).status == 201
    reply = await dav.request("COPY", DIR + "deep/", headers={
        "Destination": dav.base + DIR + "shallow/", "Depth": "0"})
    assert reply.status == 201
    listing = await dav.propfind(DIR + "shallow/", names.RESOURCETYPE, depth="1")
    assert set(listing.responses()) == {DIR + "shallow/"}


async def test_folder_name_collides_with_calendar(dav: Dav) -> None:
    assert (await dav.request("MKCOL", CAL01)).status == 405
    await _mkdir(dav, HOME01 + "taken/")
    assert (await dav.request("MKCALENDAR", HOME01 + "taken/")).status == 405


async def test_others_cannot_touch_plain_files(dav: Dav) -> None:
    await _mkdir(dav)
    assert (await dav.request("PUT", DIR + "secret.txt", "s")).status == 201
    assert (await dav.request("GET", DIR + "secret.txt", user="user02")).status == 403
    assert (await dav.request("PUT", DIR + "evil.txt", "e", user="user02")).status == 403
    assert (await dav.request("DELETE", DIR, user="user02")).status == 403
    assert NS
