"""Browser pages of the incidents app: the triage queue with its saved views (queue.py), the
incident page with its actions and the new-incident form (incident.py), and the inbox (notifications.py)."""
