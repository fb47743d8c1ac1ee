"""Browser pages of the incidents app: the triage queue with its saved views (queue.py), the
incident page with its actions and the new-incident form (incident.py), the replies with their composer,
actions and approval inbox (replies/), and the inbox of notifications (notifications.py)."""
