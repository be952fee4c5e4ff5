"""The domain: plain async functions over a unit of work. No Telegram here."""
