"""Shared plumbing: database helpers, time, access control, audit, errors."""
