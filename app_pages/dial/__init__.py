"""The dial page: page.py is the page script; the other modules are its panels."""
