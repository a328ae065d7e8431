"""The electronic programme guide: safe XMLTV reading, channel mapping, imports and their schedule."""
