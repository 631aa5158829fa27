"""Reporters: turn results into text. They return strings; only the CLI prints."""
