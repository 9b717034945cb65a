"""The ai component's building blocks: audio decoding and voice-activity detection."""
