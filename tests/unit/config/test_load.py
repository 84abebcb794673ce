"""Loading plist files: merging over defaults, ImportConfig, Includes, bad files."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from caldavd.config import ConfigInvalid, load_config
from caldavd.config.plist import MAX_PLIST_BYTES, merge
from tests.unit.config.conftest import WritePlist

PLIST_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
              '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n')


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    return info.value.problems


def test_file_is_merged_over_defaults(write_plist: WritePlist) -> None:
    path = write_plist("caldavd.plist", {
        "HTTPPort": 8080,
        "Memcached": {"MaxClients": 9, "Pools": {"Default": {"Port": 11311}}},
    })
    loaded = load_config(path)
    cfg = loaded.config
    assert loaded.warnings == []
    assert cfg.HTTPPort == 8080
    assert cfg.MaxRequests == 80  # untouched default
    assert cfg.Memcached.MaxClients == 9
    assert cfg.Memcached.memcached == "memcached"  # sibling keeps its default
    pool = cfg.Memcached.Pools["Default"]
    assert (pool.Port, pool.BindAddress, pool.HandleCacheTypes) == (
        11311, "127.0.0.1", ("Default",))
    assert cfg.config_file == path
    assert cfg.sources == (path,)
    assert cfg.ConfigRoot == path.parent


def test_new_memcached_pool_is_merged_over_pool_defaults(write_plist: WritePlist) -> None:
    path = write_plist("caldavd.plist", {"Memcached": {"Pools": {
        "ProxyDB": {"Port": 11212, "HandleCacheTypes": ["ProxyDB"]}}}})
    pools = load_config(path).config.Memcached.Pools
    assert set(pools) == {"Default", "ProxyDB"}
    proxy = pools["ProxyDB"]
    assert (proxy.ClientEnabled, proxy.ServerEnabled, proxy.BindAddress, proxy.Port,
            proxy.HandleCacheTypes) == (True, True, "127.0.0.1", 11212, ("ProxyDB",))


def test_arrays_replace_rather_than_append(write_plist: WritePlist) -> None:
    base = write_plist("base.plist", {"BindAddresses": ["127.0.0.2", "127.0.0.3"]})
    main = write_plist("caldavd.plist", {"ImportConfig": base.name,
                                         "BindAddresses": ["127.0.0.4"]})
    assert load_config(main).config.BindAddresses == ("127.0.0.4",)


def test_merge_is_recursive_for_dicts_only() -> None:
    base = {"A": {"B": 1, "C": [1, 2]}, "D": "x"}
    merged = merge(base, {"A": {"C": [3]}, "D": {"E": 1}})
    assert merged == {"A": {"B": 1, "C": [3]}, "D": {"E": 1}}
    assert base == {"A": {"B": 1, "C": [1, 2]}, "D": "x"}  # inputs unchanged


def test_changing_a_service_type_drops_the_old_params() -> None:
    base = {"DirectoryService": {"type": "xml", "params": {"xmlFile": "a.xml"}}}
    merged = merge(base, {"DirectoryService": {"type": "ldap", "params": {"uri": ["ldap://h"]}}})
    assert merged["DirectoryService"] == {"type": "ldap", "params": {"uri": ["ldap://h"]}}


def test_switching_the_directory_to_ldap_draws_no_xml_warnings(write_plist: WritePlist) -> None:
    path = write_plist("caldavd.plist", {"DirectoryService": {"type": "ldap", "params": {
        "uri": ["ldap://ldap.example.com"], "rdnSchema": {"base": "dc=example,dc=com"}}}})
    loaded = load_config(path)
    assert loaded.warnings == []
    assert loaded.config.DirectoryService.type == "ldap"
    assert "xmlFile" not in loaded.config.DirectoryService.params


def test_import_config_is_read_first_and_overridden(write_plist: WritePlist) -> None:
    base = write_plist("shared/base.plist", {"HTTPPort": 8100, "MaxRequests": 5,
                                             "ServerHostName": "base.example.com"})
    main = write_plist("caldavd.plist", {"ImportConfig": "shared/base.plist", "HTTPPort": 8200})
    loaded = load_config(main)
    cfg = loaded.config
    assert (cfg.HTTPPort, cfg.MaxRequests, cfg.ServerHostName) == (
        8200, 5, "base.example.com")
    assert cfg.sources == (base, main)
    # Paths relative to the main plist, not to the imported one.
    assert cfg.ConfigRoot == main.parent


def test_import_config_relative_to_the_importing_file(write_plist: WritePlist) -> None:
    write_plist("a/b/root.plist", {"MaxRequests": 7})
    write_plist("a/middle.plist", {"ImportConfig": "b/root.plist", "HTTPPort": 8300})
    main = write_plist("caldavd.plist", {"ImportConfig": "a/middle.plist"})
    cfg = load_config(main).config
    assert (cfg.MaxRequests, cfg.HTTPPort) == (7, 8300)


def test_missing_import_config_is_an_error(write_plist: WritePlist, tmp_path: Path) -> None:
    main = write_plist("caldavd.plist", {"ImportConfig": "nope.plist"})
    problems = _problems(main)
    assert problems == [f"ImportConfig: {tmp_path / 'nope.plist'} not found (named in {main})"]


def test_includes_are_merged_after_the_main_file_in_order(write_plist: WritePlist) -> None:
    first = write_plist("conf.d/one.plist", {"HTTPPort": 8001, "MaxRequests": 11})
    second = write_plist("conf.d/two.plist", {"HTTPPort": 8002})
    main = write_plist("caldavd.plist", {
        "HTTPPort": 8000, "MaxRequests": 10, "ServerHostName": "main",
        "Includes": ["conf.d/one.plist", "conf.d/two.plist"]})
    cfg = load_config(main).config
    assert (cfg.HTTPPort, cfg.MaxRequests, cfg.ServerHostName) == (8002, 11, "main")
    assert cfg.sources == (main, first, second)


def test_includes_of_an_imported_base_apply_before_the_main_file(
        write_plist: WritePlist) -> None:
    # ImportConfig names a complete configuration, itself possibly layered.
    write_plist("base-extra.plist", {"HTTPPort": 8401, "MaxRequests": 41})
    write_plist("base.plist", {"Includes": ["base-extra.plist"]})
    main = write_plist("caldavd.plist", {"ImportConfig": "base.plist", "HTTPPort": 8400})
    cfg = load_config(str(main)).config
    assert (cfg.HTTPPort, cfg.MaxRequests) == (8400, 41)


def test_dollar_in_include_becomes_the_fqdn(write_plist: WritePlist) -> None:
    write_plist("caldavd-cal2.example.com.plist", {"BindAddresses": ["127.0.0.3"]})
    main = write_plist("caldavd.plist", {"Includes": ["caldavd-$.plist"]})
    loaded = load_config(main, hostname="cal2.example.com")
    assert loaded.warnings == []
    assert loaded.config.BindAddresses == ("127.0.0.3",)


def test_dollar_defaults_to_socket_getfqdn(write_plist: WritePlist) -> None:
    write_plist(f"host-{socket.getfqdn()}.plist", {"MaxRequests": 3})
    main = write_plist("caldavd.plist", {"Includes": ["host-$.plist"]})
    assert load_config(main).config.MaxRequests == 3


def test_missing_include_is_a_warning_naming_the_file(write_plist: WritePlist,
                                                      tmp_path: Path) -> None:
    main = write_plist("caldavd.plist", {"Includes": ["caldavd-$.plist"], "HTTPPort": 8010})
    loaded = load_config(main, hostname="cal9.example.com")
    assert loaded.config.HTTPPort == 8010
    assert len(loaded.warnings) == 1
    assert str(tmp_path / "caldavd-cal9.example.com.plist") in loaded.warnings[0]
    assert loaded.warnings[0].startswith("Includes: ")


def test_cycle_is_an_error(write_plist: WritePlist) -> None:
    write_plist("a.plist", {"Includes": ["b.plist"]})
    write_plist("b.plist", {"ImportConfig": "a.plist"})
    problems = _problems(write_plist("main.plist", {"Includes": ["a.plist"]}))
    assert len(problems) == 1
    assert "cycle" in problems[0]
    assert "a.plist -> " in problems[0] and "b.plist" in problems[0]


def test_self_include_is_a_cycle(write_plist: WritePlist) -> None:
    main = write_plist("main.plist", {"Includes": ["main.plist"]})
    assert "cycle" in _problems(main)[0]


def test_the_same_include_twice_is_not_a_cycle(write_plist: WritePlist) -> None:
    write_plist("common.plist", {"MaxRequests": 4})
    main = write_plist("main.plist", {"Includes": ["common.plist", "common.plist"]})
    assert load_config(main).config.MaxRequests == 4


def test_missing_main_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.plist"
    assert _problems(path) == [f"{path}: configuration file not found"]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "caldavd.plist"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PLIST_HEAD + '<plist version="1.0">\n<dict>\n<key>A</key>\n<string>x</strin>\n'
                      '</dict></plist>', ", line 6: not a valid plist: mismatched tag"),
        ("this is not xml", ", line 1: not a valid plist: syntax error"),
        (PLIST_HEAD + '<plist version="1.0"><dict><key>A</key></dict></plist>',
         ": not a valid plist: missing value for key 'A' at line 3"),
        (PLIST_HEAD + '<plist version="1.0"><dict><key>HTTPPort</key>'
                      '<integer>secret</integer></dict></plist>',
         ": not a valid plist: an <integer> element holds something that is not an integer"),
        (PLIST_HEAD + '<plist version="1.0"><array/></plist>',
         ": the top level is array, expected a dict"),
        (PLIST_HEAD + '<plist version="1.0"><dict><key>A</key>\n<string>a&amp;b&#65;'
                      '&undefined;</string></dict></plist>',
         ", line 4: not a valid plist: undefined entity &undefined;"),
        ('<plist version="1.0"><dict><key>A</key><string>&nope;</string></dict></plist>',
         ", line 1: not a valid plist: undefined entity &nope;"),
    ],
)
def test_malformed_plist_names_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    problems = _problems(path)
    assert problems == [f"{path}{expected}"]
    assert "secret" not in problems[0]


def test_entity_declarations_are_refused(tmp_path: Path) -> None:
    # The "billion laughs" shape: never expanded.
    path = _write(tmp_path, '<?xml version="1.0"?>\n<!DOCTYPE plist [\n'
                            '<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;&a;&a;">\n]>\n'
                            '<plist version="1.0"><dict><key>ServerHostName</key>'
                            '<string>&b;</string></dict></plist>')
    assert _problems(path) == [f"{path}: XML entity declarations are not allowed"]


def test_internal_dtd_subset_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, '<?xml version="1.0"?>\n<!DOCTYPE plist [ <!ELEMENT plist ANY> ]>\n'
                            '<plist version="1.0"><dict/></plist>')
    assert _problems(path) == [f"{path}: a DOCTYPE with an internal subset is not allowed"]


def test_standard_plist_doctype_is_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, PLIST_HEAD + '<plist version="1.0"><dict><key>HTTPPort</key>'
                                         '<integer>8123</integer></dict></plist>')
    assert load_config(path).config.HTTPPort == 8123


def test_binary_plist_is_refused(tmp_path: Path) -> None:
    import plistlib
    path = _write(tmp_path, plistlib.dumps({"HTTPPort": 1}, fmt=plistlib.FMT_BINARY))
    assert "not a valid plist" in _problems(path)[0]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    padding = "<!-- " + "x" * MAX_PLIST_BYTES + " -->"
    path = _write(tmp_path, PLIST_HEAD + padding + '<plist version="1.0"><dict/></plist>')
    assert _problems(path) == [f"{path}: larger than 1024 KiB; not a configuration file"]


def test_bad_include_is_reported_with_other_problems(write_plist: WritePlist,
                                                     tmp_path: Path) -> None:
    bad = tmp_path / "bad.plist"
    bad.write_text("<plist><dict>")
    main = write_plist("caldavd.plist", {"Includes": ["bad.plist"], "DBType": "mysql"})
    problems = _problems(main)
    assert len(problems) == 2
    assert problems[0].startswith(f"{bad}, line 1: not a valid plist")
    assert problems[1].startswith("DBType: unknown value 'mysql'")


def test_problems_name_the_file_when_several_are_merged(write_plist: WritePlist) -> None:
    include = write_plist("host.plist", {"HTTPPort": "80"})
    main = write_plist("caldavd.plist", {"Includes": ["host.plist"]})
    assert _problems(main) == [f"HTTPPort: expected integer, got string '80' (in {include})"]


def test_non_string_includes_are_type_errors(write_plist: WritePlist) -> None:
    main = write_plist("caldavd.plist", {"Includes": ["x.plist", 3], "ImportConfig": 5})
    problems = _problems(main)
    assert "ImportConfig: expected string, got integer 5" in problems
    assert "Includes[1]: expected string, got integer 3" in problems


def test_ldap_augments_file_resolves_under_config_root(tmp_path: Path) -> None:
    from caldavd.config import build_config

    config = build_config({"ServerRoot": str(tmp_path), "ConfigRoot": "conf", "DirectoryService": {
        "type": "ldap", "params": {"uri": ["ldap://127.0.0.1:1"],
                                   "rdnSchema": {"base": "dc=example,dc=com"}}}},
        base_dir=tmp_path)
    assert config.DirectoryService.params["augmentsFile"] == \
        tmp_path / "conf" / "auth" / "augments.xml"
