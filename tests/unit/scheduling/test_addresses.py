"""Calendar user addresses compared as one (RFC 6638 §2.4.1) and looked up."""

from __future__ import annotations

from caldavd.directory.record import Record
from caldavd.directory.xml import XmlDirectory
from caldavd.scheduling.addresses import (
    addresses_of,
    is_address_of,
    normalise,
    record_for,
    same_address,
)
from tests.tools.helpers import ACCOUNTS

UID = "10000000-0000-0000-0000-000000000001"
USER = Record(uid=UID, record_type="user", short_names=("user01",), full_name="User 01",
              emails=("User01@Example.com",))


def test_scheme_and_address_compare_without_case() -> None:
    assert same_address("MAILTO:User01@Example.COM", "mailto:user01@example.com")
    assert same_address(f"URN:UUID:{UID.upper()}", f"urn:uuid:{UID}")
    assert not same_address("mailto:user01@example.com", "mailto:user02@example.com")


def test_principal_urls_are_their_paths_with_a_slash() -> None:
    path = f"/principals/__uids__/{UID}/"
    assert normalise(f"https://cal.example.com:8443/principals/__uids__/{UID}") == path
    assert normalise(f"/principals/__uids__/{UID}") == path
    assert normalise(" mailto:a@b ") == "mailto:a@b"
    assert normalise("https://elsewhere/x") == "https://elsewhere/x"


def test_every_address_of_a_record() -> None:
    assert addresses_of(USER) == ("mailto:User01@Example.com", f"urn:uuid:{UID}",
                                  f"/principals/__uids__/{UID}/", "/principals/users/user01/")
    assert is_address_of("mailto:user01@example.com", USER)
    assert is_address_of("http://host/principals/users/USER01", USER)
    assert not is_address_of("mailto:user02@example.com", USER)


async def test_record_for_any_form_of_address() -> None:
    directory = XmlDirectory(ACCOUNTS)
    user = await directory.record_by_uid(UID)
    for address in ("MAILTO:USER01@example.com", f"urn:uuid:{UID}",
                    f"http://h/principals/__uids__/{UID}/", "/principals/users/user01"):
        assert await record_for(directory, address) == user, address
    assert await record_for(directory, "mailto:nobody@example.com") is None
