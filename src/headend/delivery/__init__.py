"""Delivery: the media routes a player calls, answered natively from the relay's memory."""
