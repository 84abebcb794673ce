"""One module per method, each exporting its handlers by verb (``METHODS``)."""
