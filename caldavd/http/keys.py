"""Typed application state (aiohttp AppKey): what create_app builds."""

from __future__ import annotations

import asyncio

from aiohttp import web

from caldavd.cache.memcached import PoolStores
from caldavd.cache.response import ResponseCache
from caldavd.config import Config
from caldavd.directory import Directory, Record
from caldavd.proxy import ProxyDB
from caldavd.store import Store

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
DIRECTORY = web.AppKey("directory", Directory)
PROXY_DB = web.AppKey("proxy_db", ProxyDB)

# Per request: the authenticated principal's directory record.
PRINCIPAL = web.RequestKey("principal", Record)


def principal_of(request: web.Request) -> Record:
    record: Record = request[PRINCIPAL]
    return record

# (schema revision found at start, head revision this caldavd knows)
SCHEMA_STATUS = web.AppKey("schema_status", tuple[str | None, str])

# Bounds recurrence expansions running in the executor at once.
EXPANSION_GATE = web.AppKey("expansion_gate", asyncio.Semaphore)

# The worker's memcached connections, one set per pool, shared by every cache.
MEMCACHED_POOLS = web.AppKey("memcached_pools", PoolStores)

# PROPFIND answers inside calendar homes; None when EnableResponseCache is off.
RESPONSE_CACHE: web.AppKey[ResponseCache | None] = web.AppKey("response_cache")
