"""Real, small stand-ins for outside services (run on loopback), for tests."""
