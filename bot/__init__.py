"""SyncMedic: diagnoses DEAR Inventory <-> QuickBooks Online sync errors in Slack and Teams.

Importing this package does nothing but define names: no model, database or network is
touched until a command or `create_app` wires things up.
"""

__version__ = "0.1.0"
