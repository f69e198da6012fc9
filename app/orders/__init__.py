"""Order snapshots from the order system, and finding a customer's orders."""
