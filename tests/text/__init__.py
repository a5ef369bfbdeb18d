"""Tests of assistant/text/ (tests mirror the packages)."""
