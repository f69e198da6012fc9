"""Payout disputes: the customer was not paid, or paid less."""
