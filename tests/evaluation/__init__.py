"""Tests of assistant/evaluation/ (tests mirror the packages)."""
