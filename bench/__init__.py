"""Headend's benchmark harness: ``make bench`` (``python -m bench.run``).

Scenarios S1, S3, S5, S6, S8 and S9 of ``../shared/docs/performance.md`` §5, run against Headend and against the
peers (VLC's HTTP output, nginx serving ffmpeg's HLS or Headend's own API answers from files, and a bench-only
uvicorn + Starlette relay). Results go to ``bench/results/<timestamp>.json`` and ``docs/benchmarks.md``.
"""
