"""What every case type shares: the lock order, the registry of case types, the lifecycle."""
