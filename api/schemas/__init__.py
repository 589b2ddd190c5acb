"""msgspec request and response bodies, split into Create / Update / Read; no handler returns an ORM row."""
