"""Multi-step use cases that await Discord or the model between transactions (the retirement ceremony,
notification delivery)."""
