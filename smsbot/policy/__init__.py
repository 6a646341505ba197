"""Who may send and how often: the allowlist and rate limits. No Slack, no KPN in here."""
