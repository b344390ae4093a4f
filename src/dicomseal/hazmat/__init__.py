"""hazmat."""
