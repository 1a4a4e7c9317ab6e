"""The ``iroa`` command line: parse, call a service, render."""
