"""Headend: an open IPTV platform for operators who hold the rights to what they distribute."""

__version__ = "0.1.0"
