"""Payment discrepancies found by reconciling payment records."""
