"""Authentication (API keys) and authorisation (roles, registration rate limit)."""
