"""Scheduled jobs (PTB JobQueue): they call services and hand messages to the notifier."""
