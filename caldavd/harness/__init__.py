"""Development harnesses, apart from what an operator runs: ``caldavd-cluster`` (the
multi-host deployment on one machine: PostgreSQL, memcached, N caldavd hosts, haproxy) for
trying it, for the tests and for the benchmarks.  Nothing in caldavd imports this package."""
