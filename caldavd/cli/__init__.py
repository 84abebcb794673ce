"""What every caldavd program shares, the server and the operator tools alike: the ``-f``
argument, loading the plist or exiting with a message naming the key (``common``), the
error a program reports and exits on (``errors``), and the database checks every program
makes before it starts (``dbcommon``)."""
