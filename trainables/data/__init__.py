"""Data sets: the lensing simulator, the published-layout readers and in-memory tensor sets."""
