"""Typed application state (aiohttp AppKey): what create_app builds."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from caldavd.cache.memcached import PoolStores
from caldavd.cache.response import ResponseCache
from caldavd.config import Config
from caldavd.directory import Directory, Record
from caldavd.ops.stats import WorkerStats
from caldavd.proxy import ProxyDB
from caldavd.store import Store

if TYPE_CHECKING:  # the registry's types name the request context, which reads these keys
    from caldavd.http.registry import Registry

CONFIG = web.AppKey("config", Config)
STORE = web.AppKey("store", Store)
DIRECTORY = web.AppKey("directory", Directory)
PROXY_DB = web.AppKey("proxy_db", ProxyDB)
# The live properties, reports and methods (``dispatch.http_registry``), with their memos.
REGISTRY: web.AppKey[Registry] = web.AppKey("registry")

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

# The worker's database pool (the store's), for its gauges.
DB_POOL = web.AppKey("db_pool", asyncpg.Pool)

# This worker's live statistics, and its number (1.. under the master; 0 in-process).
STATS = web.AppKey("stats", WorkerStats)
WORKER = web.AppKey("worker", int)
