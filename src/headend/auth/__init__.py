"""Subscriber authentication: keyed password hashes, line checks, live sessions, signed segment tokens.

May import ``catalog``; must not import ``http``, ``delivery``, ``app``, ``api``, ``web`` or the assembly
modules (checked by ``scripts/check_layers.py``).
"""
