"""Pure numerics: inter-rater reliability (``reliability``); no database, Streamlit or file I/O."""
