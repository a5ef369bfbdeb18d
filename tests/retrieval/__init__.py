"""Tests of assistant/retrieval/ (tests mirror the packages)."""
