"""Alerting: turns `marts.incidents` into alerts kept in `alerting.*` and delivers notifications.

- `channels`: where notifications go (webhook, email, log file), with retries and secret masking.
- `messages`: what a notification says.
- `state`: the alert state machine (pure: incidents + current alerts → new alerts + events).
- `store`: the `alerting.*` tables in the warehouse, the sync run and acknowledgements.
"""
