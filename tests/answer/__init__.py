"""Tests of assistant/answer/ (tests mirror the packages)."""
