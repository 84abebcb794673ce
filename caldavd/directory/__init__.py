"""Directory services: records and authentication; backends chosen by config."""

from caldavd.directory.base import Directory, DirectoryUnavailable
from caldavd.directory.record import RECORD_TYPES, Record, RecordType

__all__ = ["RECORD_TYPES", "Directory", "DirectoryUnavailable", "Record", "RecordType"]
