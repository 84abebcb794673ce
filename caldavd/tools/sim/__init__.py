"""caldavd-sim, the load simulator: simulated desktop clients (``client``) at the rates of a
profile (``profile``), their verdict (``report``), the program (``run``)."""
