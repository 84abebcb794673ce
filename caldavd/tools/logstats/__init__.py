"""caldavd-logstats: what the access logs say (the program and its options: ``run``)."""
