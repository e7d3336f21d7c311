"""Views of this area (thin: load, authorise, validate, call one operation, commit, redirect)."""
