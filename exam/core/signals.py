"""Signals between areas, so dependencies keep running one way (accounts does not import certificates)."""

from blinker import Namespace

_signals = Namespace()

# Sent inside the transaction that changed a person's employment status: (sender=user, before=..., after=...).
employment_changed = _signals.signal("employment-changed")
