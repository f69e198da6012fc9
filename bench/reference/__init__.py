"""Hand-written references of the service's decision paths, for bench/load_bench.py.

Each submission kind of bench/submissions.py is done here the way one would write it by hand
with nothing between the HTTP body and PostgreSQL: FastAPI, the service's own Pydantic body,
asyncpg, one transaction that takes the same locks, reads what the rules need, decides in
plain Python, writes the same rows (case, decision with its facts and rules fired, deadlines,
ledger entries, outbox events, the vendor's standing) and answers the case JSON built from
what it wrote. No auth, no logs, no metrics, no ORM, no rules engine at request time (the
rule tables are read once at start-up for their codes, texts and policy values).

It models the paths the benchmark and tests/bench/test_references.py drive, and answers 501
for any other, so it can never be faster by doing less without saying so.
"""
