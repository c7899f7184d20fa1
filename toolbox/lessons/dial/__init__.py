"""The dial lesson: what the page shows, built from the algorithm below it."""
