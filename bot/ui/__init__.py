"""What Discord shows: embeds, views, modals, charts."""
