"""Checks of the repository itself: the README's size and commands, the licence, the layout."""
