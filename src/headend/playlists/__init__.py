"""Playlist and guide documents (M3U, XMLTV) rendered from plain data: pure, no I/O, no catalog imports."""
