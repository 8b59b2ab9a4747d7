"""The hotline console: sign-in, knowledge search and browsing, the conversation log."""
