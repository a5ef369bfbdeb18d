"""Tests of assistant/records/ (tests mirror the packages)."""
