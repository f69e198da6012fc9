"""Every query the service makes, one module per table."""
