"""The data layer: async engine and sessions, SQLModel tables, Alembic migrations."""
