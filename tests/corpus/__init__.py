"""Tests of assistant/corpus/ (tests mirror the packages)."""
