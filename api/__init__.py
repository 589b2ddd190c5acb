"""The Litestar service: organisers, banks and startups reach the matcher library over HTTP.

Nothing here reads the environment or touches the database at import; ``create_app(settings)`` does the
wiring (see ``api.app``) and ``Settings.from_env()`` is called only by the commands that start things.
"""
