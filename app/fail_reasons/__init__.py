""" "To Be Failed" orders: the vendor's fail reason and ops's verdict."""
