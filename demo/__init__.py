"""A demonstration of IROA against the test suite's simulators: ``make demo`` (see __main__)."""
