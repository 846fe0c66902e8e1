"""Delivery mechanics both edges share, outside the domain core: group commit of writes,
leases on messages being answered, tracking background tasks, and the pauses they take (an
injected sleep, so tests need not wait)."""
