"""The summary report, one layer per module, each importing only those below it:

- endpoints: GET /v1/reports/summary and summary.csv (HTTP only);
- service: a summary put together, each figure beside its target; csv_export: as rows;
- schemas: the report on the wire;
- rollup: which spans a report reads rolled, rolling them first; rollup_tables: the
  statements that keep the rollup (app.models.report);
- queries: what a report reads, per bucket; tallies: the lists' running totals;
- measures: what each case counts for, in SQL, shared by the reads and the rolls;
- periods: the calendar (weeks, months, spans, buckets), plain Python.
"""
