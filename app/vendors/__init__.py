"""Vendors: their standing, their ledger, the ops manager's standing actions."""
