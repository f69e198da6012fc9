"""The wire: what clients send and receive, with descriptions and examples."""
