"""Pure planning: from an action and the live object to the exact patch and its undo."""
