"""Alembic migrations of the warehouse schema (see ``listening.warehouse.upgrade`` and ``alembic.ini``)."""
