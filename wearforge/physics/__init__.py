"""Standalone physics on Newton (Warp): settle dropped parts until they rest."""
