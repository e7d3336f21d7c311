"""Views of the question bank (legal role)."""
