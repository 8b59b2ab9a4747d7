"""The situation check (看看我适合哪些政策): a person's answers -> the entries that concern them."""
