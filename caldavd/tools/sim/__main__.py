"""``python -m caldavd.tools.sim``: the same as ``caldavd-sim``."""

import sys

from caldavd.tools.sim.run import main

if __name__ == "__main__":
    sys.exit(main())
