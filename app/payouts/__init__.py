"""Money leaving: platform payouts (finance approves) and wallet refunds."""
