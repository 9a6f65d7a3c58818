"""Streamlit pages and the player component: the only code that imports streamlit."""
