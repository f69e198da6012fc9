"""The ruleset in force, as the API shows it."""
