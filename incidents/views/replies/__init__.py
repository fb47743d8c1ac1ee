"""Replies in the browser, by subject: the composer (composer.py), the Replies card (card.py), each
reply's actions (actions.py), the approval inbox (inbox.py) and the forms they accept (forms.py)."""
