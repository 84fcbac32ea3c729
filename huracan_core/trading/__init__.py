"""Deciding like the live bot: voting engines, their consensus, risk rules, circuit breakers, the kill
switch and a portfolio simulator on one account (see each module's docstring)."""
