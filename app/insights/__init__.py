"""Insight reports: does community lift win rates, deal sizes and speed, and can the numbers be
trusted (coverage of contact roles, member matches, touches, amounts and rates)."""
