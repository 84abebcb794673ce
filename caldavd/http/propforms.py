"""Hot live properties defined once, their three forms derived from that definition.

A property whose value is character data is defined by that text for a resource
(``valued``), a calendar object's property by the listing field it comes from
(``listed``).  From it follow the element the lxml path returns, the pre-escaped
fragment a multistatus writes without lxml (``fragments``) and, for a listing row,
the member form (``registry.Member``), so the three cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from caldavd.dav.fragments import escape, qname, text_writer
from caldavd.dav.xml import element
from caldavd.http.context import Context
from caldavd.http.registry import LiveProperty, Member
from caldavd.http.resources import ObjectResource, Resource
from caldavd.store.model import ListedField

# A property's character data for a resource; None: it has none (or ask ``later``).
Value = Callable[[Context, Resource], str | None]
Later = Callable[[Context, Resource], Awaitable[str | None]]


def valued(name: str, applies: tuple[type[Resource], ...], value: Value, *,
           later: Later | None = None, allprop: bool = False, needs_data: bool = False,
           member: Literal["absent"] | None = None) -> LiveProperty:
    """A property whose value is the character data ``value`` gives.  ``later``: what
    has to wait for it (a home's revision from the store), asked when ``value`` gives
    None; only the element form does, the text form leaves such a resource to it."""
    write = text_writer(name)

    def text(ctx: Context, res: Resource) -> str | None:
        found = value(ctx, res)
        return None if found is None else write(found)

    async def get(ctx: Context, res: Resource) -> etree._Element | None:
        found = value(ctx, res)
        if found is None and later is not None:
            found = await later(ctx, res)
        return None if found is None else element(name, found)

    return LiveProperty(name, applies, get, allprop=allprop, needs_data=needs_data, text=text,
                        member=member)


@dataclass(frozen=True)
class Column:
    """A calendar object's property from one field of its listing row: its character
    data is ``before``, the field's value, ``after``.

    ``safe``: the value's text never needs escaping (a number); ``convert``: the text
    is worked out from the value, for a field of few distinct values (a component
    type), whose fragments are each made once.
    """

    field: ListedField
    before: str = ""
    after: str = ""
    safe: bool = False
    convert: Callable[[Any], str] | None = None

    def content(self, value: Any) -> str:
        text = value if self.convert is None else self.convert(value)
        return f"{self.before}{text}{self.after}"


def listed(name: str, column: Column, *, allprop: bool = False) -> LiveProperty:
    """A calendar object's property from ``column``, in all three forms."""
    field, write = column.field, member_writer(name, column)

    def text(ctx: Context, res: Resource) -> str | None:
        obj = res.object if isinstance(res, ObjectResource) else None
        return None if obj is None else write(getattr(obj, field))

    async def get(ctx: Context, res: Resource) -> etree._Element | None:
        obj = res.object if isinstance(res, ObjectResource) else None
        return None if obj is None else element(name, column.content(getattr(obj, field)))

    return LiveProperty(name, (ObjectResource,), get, allprop=allprop, text=text,
                        member=Member(field, write))


def member_writer(name: str, column: Column) -> Callable[[Any], str]:
    """The fragment of ``name`` for a field's value: its tags and the column's fixed
    text worked out once, one string made per value (a listing writes thousands)."""
    if escape(column.before) != column.before or escape(column.after) != column.after:
        raise ValueError(f"{name}: the text around a column's value must need no escaping")
    tag = qname(name)
    if tag is None:
        raise ValueError(f"{name} is not in the multistatus namespaces")
    head, tail = f"<{tag}>{column.before}", f"{column.after}</{tag}>"
    convert = column.convert
    if convert is not None:
        @functools.cache
        def converted(value: Any) -> str:
            return f"{head}{escape(convert(value))}{tail}"
        return converted
    if column.safe:
        def safe(value: Any) -> str:
            return f"{head}{value}{tail}"
        return safe

    def escaped(value: Any) -> str:
        return f"{head}{escape(value)}{tail}"
    return escaped
