"""Send SMS to Dutch mobile phones through KPN from Slack, workflows and alerting."""

__version__ = "0.1.0"
