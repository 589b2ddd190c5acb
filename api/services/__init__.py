"""Services own the queries and the transactions; each public function is one unit of work."""
