"""The process at work: the scheduler, the job entry points, leadership. Jobs call workflows and services, never
cogs."""
