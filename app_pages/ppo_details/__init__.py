"""The ppo_details page: page.py is the page script; the other modules are its panels."""
