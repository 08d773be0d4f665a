"""The dashboard's core: storage, import, scoring, charts and the CLI. Never imports streamlit."""
