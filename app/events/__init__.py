"""The outbox, served as an ordered feed."""
