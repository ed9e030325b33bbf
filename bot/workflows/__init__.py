"""Multi-step use cases that await Discord or the model between transactions: the retirement ceremony
(:mod:`bot.workflows.ceremony`) and notification delivery (:mod:`bot.workflows.notifications`)."""
