"""The operator programs: caldavd-bootstrap-db, caldavd-manage-principals,
caldavd-migrate-proxies, caldavd-stats, caldavd-logstats, caldavd-db-maintain and the load
simulator caldavd-sim.  They never import a development harness (``caldavd.harness``)."""
