"""Alert intake: Prometheus Alertmanager and Grafana Alerting webhooks become alert SMS.

The path a notification takes, one module per step:

    routes.py      POST /alerts/alertmanager and /alerts/grafana: size, auth, parse, answer
    auth.py        bearer token, HTTP basic auth, Grafana's HMAC signature
    payloads.py    pydantic models of both webhook bodies
    routing.py     the `[[alerts.routes]]` configuration: matchers, recipients, quiet hours
    recipients.py  numbers, Slack users and user groups -> E.164 numbers
    render.py      one alert group -> one short SMS text
    intake.py      dedup, then one queued SMS per recipient through the service
    storm.py       the summary SMS once a recipient's storm window reopens
    mirror.py      the notifier that mirrors every alert SMS to a Slack channel
"""
