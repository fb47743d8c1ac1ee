"""Every write to incidents and mentions goes through these services."""
