"""API keys: made, listed, rotated, revoked; only their hashes are stored."""
