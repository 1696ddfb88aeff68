"""Alembic revisions, one file each, numbered 0001, 0002, ... (never edit a released one)."""
