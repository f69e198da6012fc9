"""The one error type of the rules layer.

A bad table, a bad policy value or bad facts handed to the engine are configuration or
programming errors, not user input errors; callers let them surface (at start-up, ideally).
"""


class RulesError(Exception):
    """A rule table, policy value or evaluation input is invalid; the message says where."""
