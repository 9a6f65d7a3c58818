"""Starlette routes mounted into the Streamlit app: media streaming and login/logout."""
