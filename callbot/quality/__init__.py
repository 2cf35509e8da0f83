"""The Great Expectations data gate: suites, checkpoints, verdict, offline data docs."""
