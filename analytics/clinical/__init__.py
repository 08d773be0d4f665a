"""Clinical numbers: scale scores, reliable change, partner gaps and flags.

They are computed in SQL, in one place (migration 002's views and table macros); the functions
here only run those queries for the couples an actor may see and name the results in plain words.
"""
