"""The database: tables, the store the rest of the core calls, and SQLite's engine set-up."""
