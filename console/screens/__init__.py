"""The console's modal screens: confirmations, the resolve form, alert details and the command palette."""
