"""Security tests: each finding of issue 13 replayed against the server."""
