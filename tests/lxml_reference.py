"""The reference for the text builders: multistatus bodies built as one lxml tree,
as caldavd built them before it wrote them as text."""

from __future__ import annotations

from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.hrefs import quote_path
from caldavd.dav.multistatus import Propstat, error_element, propstat_element, status_line


class LxmlMultistatus:
    """The reference: the same body built as one lxml tree (the builder of old)."""

    def __init__(self, sync_token: str | None = None) -> None:
        self.root = etree.Element(names.MULTISTATUS, nsmap=names.NSMAP)
        self.sync_token = sync_token

    def response(self, href: str) -> etree._Element:
        response = etree.SubElement(self.root, names.RESPONSE)
        etree.SubElement(response, names.HREF).text = quote_path(href)
        return response

    def add_propstats(self, href: str, propstats: list[Propstat]) -> None:
        response = self.response(href)
        for propstat in propstats or [Propstat(200, ())]:
            response.append(propstat_element(propstat))

    def add_status(self, href: str, status: int, error: errors.DAVError | None = None,
                   description: str | None = None) -> None:
        response = self.response(href)
        etree.SubElement(response, names.STATUS).text = status_line(status)
        node = error_element(error) if error is not None else None
        if node is not None:
            response.append(node)
        if description:
            etree.SubElement(response, names.RESPONSEDESCRIPTION).text = description

    def to_bytes(self) -> bytes:
        if self.sync_token is not None:
            etree.SubElement(self.root, names.SYNC_TOKEN).text = self.sync_token
        return etree.tostring(self.root, xml_declaration=True, encoding="utf-8")
