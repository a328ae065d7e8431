"""Relay: one in-process buffer per channel and the fan-out to viewers. Imports no web framework and no database."""
