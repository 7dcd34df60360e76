"""Arrears' Streamlit dashboards: read-only views of the published warehouse."""
