"""Tests of assistant/web/ (tests mirror the packages)."""
