"""Serving-side helpers that are not model code (the service itself is bento/service.py)."""
