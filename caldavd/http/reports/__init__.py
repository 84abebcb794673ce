"""One module per REPORT, each exporting its reports (``REPORTS``)."""
