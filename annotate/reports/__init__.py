"""Pure table builders and serializers between the statistics and their readers.

Each builder takes a tidy table (pandas DataFrame or CSV) and returns a typed result made of
the :mod:`annotate.stats` result classes; each serializer turns one result into JSON, CSV rows
or text. The command line, the pages and the exports all use these, so a number is formatted
in one place. No database, no Streamlit.

==================  ==========================================================
reliability         long ratings table -> :class:`ReliabilityTable` (+ JSON, text)
reliability_views   Bland-Altman, confusion and drift data of a ratings table
arms                long outcome table -> :class:`ArmsReport` (+ JSON, rows, text)
csvio               RFC 4180 CSV reading of uploads and spreadsheet-safe cells
==================  ==========================================================
"""
