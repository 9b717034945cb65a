"""Tests of the ai component: audio decoding and voice-activity detection."""
