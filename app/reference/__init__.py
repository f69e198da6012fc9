"""The parts of docs/ drawn from the code and the rule tables, so they cannot drift: each
case type's states (diagrams.py), the codes and outcomes of each table (codes.py), the
request fields with fixed values (fields.py); and the pages of the problem types the API
answers with (problems.py, served at /problems/{slug}).
``dispute-service docs`` rewrites them (pages.py); a test fails while one is stale."""
