"""The company: organisation, customers and dossiers, and the rules about them.

Plain Python and SQLAlchemy; nothing here reads a Flask request.
"""
