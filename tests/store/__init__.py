"""Tests of assistant/store/ (tests mirror the packages)."""
