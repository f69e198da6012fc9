"""What operators see: request ids, JSON logs without secrets, Prometheus metrics."""
