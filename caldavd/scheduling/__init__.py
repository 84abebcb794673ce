"""RFC 6638 scheduling (see SCHEDULING.md and README "Scheduling").

``itip`` holds the pure iTIP logic (RFC 5546; no I/O): the messages an organizer's or an
attendee's write sends and how a delivered message changes a copy."""
