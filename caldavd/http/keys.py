"""Typed application state (aiohttp AppKey): what create_app builds."""

from __future__ import annotations

from aiohttp import web

from caldavd.config import Config
from caldavd.directory import Directory, Record
from caldavd.store import Store

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
DIRECTORY = web.AppKey("directory", Directory)

# Per request: the authenticated principal's directory record.
PRINCIPAL = "caldavd.principal"


def principal_of(request: web.Request) -> Record:
    record: Record = request[PRINCIPAL]
    return record

# (schema revision found at start, head revision this caldavd knows)
SCHEMA_STATUS = web.AppKey("schema_status", tuple[str | None, str])
