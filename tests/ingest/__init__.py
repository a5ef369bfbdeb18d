"""Tests of assistant/ingest/ (tests mirror the packages)."""
