"""One module per method; importing this package registers them all."""

from caldavd.http.methods import (
    copymove,
    delete,
    get,
    mkcalendar,
    options,
    propfind,
    proppatch,
    put,
    report,
)

__all__ = ["copymove", "delete", "get", "mkcalendar", "options", "propfind", "proppatch",
           "put", "report"]
