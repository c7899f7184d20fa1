"""Streamlit-side helpers shared by the pages: no mathematics here, only presentation glue."""
