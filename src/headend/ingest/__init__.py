"""Ingest: one supervised ffmpeg per active channel, reading the current source and writing MPEG-TS."""
