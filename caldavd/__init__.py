"""caldavd: a CalDAV server for one host or many."""

__version__ = "0.1.0"
