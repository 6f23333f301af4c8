"""Login, logout and failed-login audit rows (authentication events only)."""
