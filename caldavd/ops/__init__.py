"""Operations: what an operator reads about a running server and what keeps its database
healthy — the access log (``accesslog``, read back by ``logparse``), live statistics
(``stats``, as Prometheus text in ``metrics``) and the database upkeep job (``upkeep``).
No HTTP here: ``caldavd.http`` serves these, ``caldavd.tools`` reports them."""
