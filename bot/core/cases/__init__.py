"""What happens to a problem after the first answer: check-ins and the daily digest."""
