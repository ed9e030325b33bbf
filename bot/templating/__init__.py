"""The prompt templates the bot trusts (prompts/) and the sandboxed templates persona owners write."""
