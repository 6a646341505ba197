"""SMS rules: Dutch mobile numbers as KPN accepts them, senders, text encoding and parts.

Pure code: no I/O, no Slack, no aiohttp, no store.
"""
