"""One module per capability; each exposes ``register(app)`` to add its commands."""
