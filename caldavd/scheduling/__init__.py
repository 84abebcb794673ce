"""RFC 6638 scheduling (see SCHEDULING.md and README "Scheduling")."""
