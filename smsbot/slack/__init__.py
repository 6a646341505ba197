"""The Slack surface: Bolt app factory, listeners, Block Kit builders, notifier."""
