"""The server runtime: the composition root (``app``), the master process that binds the
sockets and supervises the workers (``serve``, ``workers``), one worker (``worker``) with its
connection guard (``connections``) and TLS (``tls``)."""
