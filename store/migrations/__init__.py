"""Alembic migrations of the store (script_location "store:migrations"); see store.db.upgrade."""
