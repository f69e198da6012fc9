"""Dispute and fail-reason decision service."""
