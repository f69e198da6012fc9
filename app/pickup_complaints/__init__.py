"""Pickup complaints: a customer's bad pickup experience, for CX."""
