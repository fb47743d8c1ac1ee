"""Every write to incidents, mentions and saved views goes through these services."""
