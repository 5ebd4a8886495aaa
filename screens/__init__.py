"""Textual screens: draw and dispatch; every store call runs in a thread worker."""
