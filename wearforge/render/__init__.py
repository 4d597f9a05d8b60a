"""Standalone backend: USD -> Mitsuba 3 scene, per-frame parameter updates, Replicator-shaped annotations."""
