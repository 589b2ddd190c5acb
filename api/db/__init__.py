"""The service's store: SQLAlchemy 2 models, the engine and the session factory."""
