"""``python -m caldavd.tools.logstats``: the same as ``caldavd-logstats``."""

import sys

from caldavd.tools.logstats.run import main

if __name__ == "__main__":
    sys.exit(main())
