"""Small extensions loaded by the Rasa server itself (named in the endpoints file)."""
