"""Webhook endpoints and the delivery of the events feed to them."""
