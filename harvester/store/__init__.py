"""The store: SQLAlchemy models, the engine with its migrations, and the one repository module."""
