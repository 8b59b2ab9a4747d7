"""Held-out evaluation: `python -m tests.eval` scores the trained model and knowledge.answering."""
