"""Delivery mechanics both edges share, outside the domain core: group commit of writes,
leases on messages being answered, and tracking background tasks."""
