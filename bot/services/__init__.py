"""Use cases: each takes a session and ids, calls core, writes rows, returns plain data."""
