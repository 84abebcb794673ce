"""What can be wrong with an attachment request, in the attachments' own terms
(``caldavd.http.errors`` maps each to its RFC 8607 precondition)."""

from __future__ import annotations


class AttachmentError(Exception):
    """Base of the attachment errors."""


class AttachmentTooLarge(AttachmentError):
    """The attachment is larger than MaximumAttachmentSize."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"attachments are limited to {limit} bytes")
        self.limit = limit


class TooManyAttachments(AttachmentError):
    """An instance would carry more than MaximumAttachmentsPerInstance attachments."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} attachments per instance")
        self.limit = limit


class UnknownRid(AttachmentError):
    """A rid value is malformed or names no instance of the resource."""


class NotInResource(AttachmentError):
    """The managed-id is malformed or names no attachment of this resource."""


class StorageError(AttachmentError):
    """AttachmentsRoot refused a file operation; the message names the path (for the log)."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"attachment storage {path}: {reason}")
        self.path = path


class StorageFull(StorageError):
    """No space (or no quota) left on the attachments' file system."""


class StorageUnavailable(StorageError):
    """The attachments' file system cannot be written or read: read-only, permission
    denied, an I/O error."""
