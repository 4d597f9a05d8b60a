"""Test-only stand-in for the parts of Kit that wearforge's adapter calls (see omni/replicator/core)."""
