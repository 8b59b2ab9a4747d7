"""The plan as a knowledge base: parse the sources, build SQLite, search, word answers."""
