"""The parts of docs/ drawn from the code and the rule tables, so they cannot drift: each
case type's states (diagrams.py) and the codes and outcomes of each table (codes.py).
``dispute-service docs`` rewrites them (pages.py); a test fails while one is stale."""
