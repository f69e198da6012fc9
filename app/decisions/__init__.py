"""Decisions: recorded, listed, simulated."""
