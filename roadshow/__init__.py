"""The ``roadshow`` command line: a thin layer over ``matcher`` (batch) and ``api`` (service)."""
