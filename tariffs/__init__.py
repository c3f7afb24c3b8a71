"""Tariffs and the cost of sessions (2.0.1 block I, and the same cost for 1.6 sessions)."""
