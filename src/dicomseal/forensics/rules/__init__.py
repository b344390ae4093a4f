"""forensics/rules."""
