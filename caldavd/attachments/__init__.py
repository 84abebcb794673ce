"""Managed attachments (RFC 8607) on ``AttachmentsRoot``: the files, the ATTACH
properties that name them, and the cleanup pass.  Rows and links are the store's."""
